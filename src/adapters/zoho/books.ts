import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { parseContact, parseZohoJson, type ZohoContact } from '../../domain/contact.js'
import { Problem } from '../../errors.js'
import type { ContactSource } from '../../services/contacts.js'
import { type BudgetRefusal, BudgetRefused } from './budget.js'

/** Where the Zoho client gets its access token: one per process, or shared through Redis. */
export interface AccessTokens {
  get(): Promise<string>
  /** Zoho rejected this token: the next get() mints a new one, once, however many callers saw it. */
  reject(token: string): Promise<void>
}

/**
 * The per-organization allowance of Zoho calls. Zoho blocks the whole organization, its people
 * included, past 100 calls a minute: every call leaves only with a slot from here.
 */
export interface ZohoBudget {
  /** Takes a slot (waiting briefly for one in flight to finish); returns its release. */
  acquire(org: string): Promise<() => void>
  /** Zoho answered 429: no calls for this organization for the given seconds. */
  pause(org: string, seconds: number): Promise<void>
}

export type ZohoOutcome = 'ok' | 'not_found' | 'error' | 'unavailable' | 'rejected_token' | 'rate_limited' | 'retry'

export interface ZohoBooksOptions {
  apiBaseUrl: string
  timeoutMs: number
  tokens: AccessTokens
  budget: ZohoBudget
  log: FastifyBaseLogger
  /** Attempts per contact for timeouts and 5xx (4xx never retry). */
  maxAttempts?: number
  backoffMs?: number
  /** Called once per HTTP call to Zoho, for metrics. */
  onCall?: (outcome: ZohoOutcome, seconds: number) => void
  /** Called when the budget keeps a call from leaving. */
  onBudgetRefusal?: (reason: BudgetRefusal) => void
}

const NOT_AUTHORIZED = new Set([57, 14])
const NOT_FOUND = new Set([1002, 2])
const ORGANIZATION = new Set([6041, 6024])
/** 429 codes: per-minute (44) blocks the org, daily (45), too many concurrent (1070). */
const RATE_LIMIT_PAUSE: Record<number, number> = { 44: 60, 45: 3600, 1070: 2 }

type Attempt =
  | { kind: 'ok'; contact: ZohoContact }
  | { kind: 'retry'; why: string }
  | { kind: 'token_rejected' }
  | { kind: 'fail'; problem: Problem }

export function createZohoBooks(options: ZohoBooksOptions): ContactSource {
  const maxAttempts = options.maxAttempts ?? 3
  const backoffMs = options.backoffMs ?? 200
  const onCall = options.onCall ?? (() => {})

  async function attempt(org: string, contactId: string): Promise<Attempt> {
    const token = await options.tokens.get()
    const release = await options.budget.acquire(org).catch((err: unknown) => {
      if (err instanceof BudgetRefused) options.onBudgetRefusal?.(err.verdict.reason)
      throw err
    })
    const started = performance.now()
    let status: number
    let text: string
    let retryAfterHeader: string | null
    try {
      const url = `${options.apiBaseUrl}/contacts/${encodeURIComponent(contactId)}?organization_id=${encodeURIComponent(org)}`
      const res = await fetch(url, {
        headers: { authorization: `Zoho-oauthtoken ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs),
      })
      status = res.status
      retryAfterHeader = res.headers.get('retry-after')
      text = await res.text()
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError'
      onCall('retry', (performance.now() - started) / 1000)
      return { kind: 'retry', why: timedOut ? `timed out after ${options.timeoutMs} ms` : `network error: ${(err as Error).message}` }
    } finally {
      release()
    }
    const seconds = (performance.now() - started) / 1000
    let body: { code?: unknown; message?: unknown; contact?: unknown } | undefined
    try {
      body = parseZohoJson(text) as typeof body
    } catch {
      body = undefined
    }
    const code = typeof body?.code === 'number' ? body.code : undefined
    const zohoSays = typeof body?.message === 'string' ? `: ${body.message.slice(0, 200)}` : ''

    if (status >= 500) {
      onCall('retry', seconds)
      return { kind: 'retry', why: `HTTP ${status}${code === undefined ? '' : ` code ${code}`}` }
    }
    if (status === 200 && code === 0) {
      const parsed = parseContact(body?.contact)
      if (parsed.ok) {
        onCall('ok', seconds)
        return { kind: 'ok', contact: parsed.contact }
      }
      onCall('error', seconds)
      return {
        kind: 'fail',
        problem: new Problem('upstream_error', `Zoho sent contact ${contactId} in a form creditgate cannot read (${parsed.problem})`),
      }
    }
    if (status === 429) {
      const pause = Number(retryAfterHeader) > 0 ? Number(retryAfterHeader) : (RATE_LIMIT_PAUSE[code ?? 44] ?? 60)
      await options.budget.pause(org, pause)
      onCall('rate_limited', seconds)
      return {
        kind: 'fail',
        problem: new Problem('upstream_unavailable', `Zoho rate limited organization ${org} (code ${code ?? 'none'})${zohoSays}`, {
          retryAfterSeconds: pause,
        }),
      }
    }
    if (status === 401 || (code !== undefined && NOT_AUTHORIZED.has(code))) {
      onCall('rejected_token', seconds)
      await options.tokens.reject(token)
      return { kind: 'token_rejected' }
    }
    if (code !== undefined && ORGANIZATION.has(code)) {
      onCall('error', seconds)
      return {
        kind: 'fail',
        problem: new Problem('upstream_error', `organization ${org} is not accessible with the configured Zoho credentials (code ${code})`),
      }
    }
    if (code !== undefined && NOT_FOUND.has(code) && (status === 400 || status === 404 || status === 200)) {
      onCall('not_found', seconds)
      return { kind: 'fail', problem: new Problem('contact_not_found', `contact ${contactId} does not exist in organization ${org}`) }
    }
    onCall('error', seconds)
    const what = body === undefined ? 'an unreadable body' : `code ${code ?? 'none'}${zohoSays}`
    return { kind: 'fail', problem: new Problem('upstream_error', `Zoho answered HTTP ${status} with ${what}`) }
  }

  return {
    async fetchContact(org, contactId) {
      let refreshed = false
      let lastWhy = ''
      for (let n = 1; n <= maxAttempts; ) {
        const result = await attempt(org, contactId)
        switch (result.kind) {
          case 'ok':
            return result.contact
          case 'fail':
            throw result.problem
          case 'token_rejected':
            if (refreshed)
              throw new Problem(
                'upstream_error',
                'Zoho refused a freshly minted access token (code 57): check the scope ZohoBooks.contacts.READ',
              )
            refreshed = true
            options.log.warn({ org }, 'zoho rejected the access token; refreshing once')
            continue
          case 'retry':
            lastWhy = result.why
            options.log.warn({ org, contactId, attempt: n, why: result.why }, 'zoho call failed; retrying')
            n++
            // Full jitter: a burst of retries must not hit Zoho in step.
            if (n <= maxAttempts) await sleep(Math.random() * backoffMs * 2 ** (n - 2))
        }
      }
      throw new Problem('upstream_unavailable', `Zoho did not answer after ${maxAttempts} attempts (${lastWhy})`, {
        retryAfterSeconds: 5,
      })
    },
  }
}
