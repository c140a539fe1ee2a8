import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { z } from 'zod'
import { parseContact, parseZohoJson } from '../../domain/contact.js'
import { type ListedContact, ListedContactSchema } from '../../domain/group.js'
import { OrganizationSchema } from '../../domain/organization.js'
import { type PaidInvoice, PaidInvoiceSchema } from '../../domain/payments.js'
import { type ListedInvoice, ListedInvoiceSchema, type ListedSalesOrder, ListedSalesOrderSchema } from '../../domain/receivables.js'
import { Problem } from '../../errors.js'
import type { OrganizationSource } from '../../services/base-currency.js'
import type { ContactSource } from '../../services/contacts.js'
import type { GroupSource } from '../../services/group-exposure.js'
import type { PaymentsSource } from '../../services/payments.js'
import type { ListingOptions, ReceivablesSource } from '../../services/receivables-ports.js'
import { type AccessTokens, type BudgetRefusal, BudgetRefused, type ZohoBudget } from './ports.js'
import { type Read, readList } from './read.js'

export type ZohoOutcome = 'ok' | 'not_found' | 'error' | 'unavailable' | 'rejected_token' | 'rate_limited' | 'retry'

export interface ZohoBooksOptions {
  apiBaseUrl: string
  timeoutMs: number
  tokens: AccessTokens
  budget: ZohoBudget
  log: FastifyBaseLogger
  /** Attempts per call for timeouts and 5xx (4xx never retry). */
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

/** What one HTTP call came to: the value read, a retry, a rejected token, or an answer that stands. */
type Attempt<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'retry'; why: string }
  | { kind: 'token_rejected' }
  | { kind: 'fail'; problem: Problem }

/** The largest listing followed: 200 pages of 200 documents. */
const MAX_PAGES = 200
/**
 * How long a background listing may wait for the budget in all: 200 pages at a minute's background
 * calls (B − R, 67 by default) take three minutes, within the refresh lock's five.
 */
export const BACKGROUND_WAIT_MS = 4 * 60_000
export const PER_PAGE = 200

/**
 * The Zoho Books client: Get Contact, and the organization-wide listings of open invoices and
 * sales orders and of paid invoices. Every call — every page — takes a slot of the organization's budget first.
 */
export function createZohoBooks(
  options: ZohoBooksOptions,
): ContactSource & ReceivablesSource & PaymentsSource & OrganizationSource & GroupSource {
  const maxAttempts = options.maxAttempts ?? 3
  const backoffMs = options.backoffMs ?? 200
  const onCall = options.onCall ?? (() => {})

  async function attempt<T>(
    org: string,
    path: string,
    query: Record<string, string>,
    read: Read<T>,
    notFound: (() => Problem) | undefined,
    background: boolean,
  ): Promise<Attempt<T>> {
    const token = await options.tokens.get()
    const release = await options.budget.acquire(org, { background }).catch((err: unknown) => {
      if (err instanceof BudgetRefused) options.onBudgetRefusal?.(err.verdict.reason)
      throw err
    })
    const started = performance.now()
    let status: number
    let text: string
    let retryAfterHeader: string | null
    try {
      const url = `${options.apiBaseUrl}${path}?${new URLSearchParams({ organization_id: org, ...query })}`
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
    let body: Record<string, unknown> | undefined
    try {
      const parsed = parseZohoJson(text)
      body = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined
    } catch {
      body = undefined
    }
    const code = typeof body?.code === 'number' ? body.code : undefined
    const zohoSays = typeof body?.message === 'string' ? `: ${body.message.slice(0, 200)}` : ''

    if (status >= 500) {
      onCall('retry', seconds)
      return { kind: 'retry', why: `HTTP ${status}${code === undefined ? '' : ` code ${code}`}` }
    }
    if (status === 200 && code === 0 && body) {
      const read_ = read(body)
      if (read_.ok) {
        onCall('ok', seconds)
        return { kind: 'ok', value: read_.value }
      }
      onCall('error', seconds)
      return {
        kind: 'fail',
        problem: new Problem('upstream_error', `Zoho sent ${path} in a form creditgate cannot read (${read_.problem})`),
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
    if (notFound && code !== undefined && NOT_FOUND.has(code) && (status === 400 || status === 404 || status === 200)) {
      onCall('not_found', seconds)
      return { kind: 'fail', problem: notFound() }
    }
    onCall('error', seconds)
    const what = body === undefined ? 'an unreadable body' : `code ${code ?? 'none'}${zohoSays}`
    return { kind: 'fail', problem: new Problem('upstream_error', `Zoho answered HTTP ${status} with ${what}`) }
  }

  /** One call: retried on timeouts and 5xx with jittered backoff, the token refreshed once on a rejection. */
  async function call<T>(
    org: string,
    path: string,
    query: Record<string, string>,
    read: Read<T>,
    notFound?: () => Problem,
    background = false,
  ): Promise<T> {
    let refreshed = false
    let lastWhy = ''
    for (let n = 1; n <= maxAttempts; ) {
      const result = await attempt(org, path, query, read, notFound, background)
      switch (result.kind) {
        case 'ok':
          return result.value
        case 'fail':
          throw result.problem
        case 'token_rejected':
          if (refreshed)
            throw new Problem(
              'upstream_error',
              'Zoho refused a freshly minted access token (code 57): check the scopes ZohoBooks.contacts.READ, invoices.READ and salesorders.READ',
            )
          refreshed = true
          options.log.warn({ org }, 'zoho rejected the access token; refreshing once')
          continue
        case 'retry':
          lastWhy = result.why
          options.log.warn({ org, path, attempt: n, why: result.why }, 'zoho call failed; retrying')
          n++
          // Full jitter: a burst of retries must not hit Zoho in step.
          if (n <= maxAttempts) await sleep(Math.random() * backoffMs * 2 ** (n - 2))
      }
    }
    throw new Problem('upstream_unavailable', `Zoho did not answer after ${maxAttempts} attempts (${lastWhy})`, {
      retryAfterSeconds: 5,
    })
  }

  /** Every page of a listing, in order; each page is a call against the budget. */
  async function listAll<S extends z.ZodType>(
    org: string,
    path: string,
    key: string,
    schema: S,
    query: Record<string, string>,
    listing: ListingOptions = {},
  ) {
    const items: z.output<S>[] = []
    const read = readList(key, schema)
    const filter = { ...query, ...(listing.customerId ? { customer_id: listing.customerId } : {}) }
    const waitUntil = Date.now() + BACKGROUND_WAIT_MS
    for (let page = 1; page <= MAX_PAGES; ) {
      let found: { items: z.output<S>[]; more: boolean }
      try {
        found = await call(
          org,
          path,
          { ...filter, page: String(page), per_page: String(PER_PAGE) },
          read,
          undefined,
          listing.background === true,
        )
      } catch (err) {
        // A background listing waits for room in the budget and goes on from the same page.
        // Starting over would spend the next minute's calls on pages already read: an
        // organization with more pages than a minute's background calls would never be read.
        const waitMs = err instanceof BudgetRefused ? err.verdict.retryAfterMs : Number.POSITIVE_INFINITY
        if (listing.background !== true || Date.now() + waitMs > waitUntil) throw err
        await sleep(waitMs, undefined, { ref: false })
        continue
      }
      items.push(...found.items)
      if (!found.more) return items
      page++
    }
    throw new Problem('upstream_error', `Zoho listed more than ${MAX_PAGES * PER_PAGE} documents at ${path}; creditgate stops there`)
  }

  return {
    fetchContact: (org, contactId) =>
      call(
        org,
        `/contacts/${encodeURIComponent(contactId)}`,
        {},
        (body) => {
          const parsed = parseContact(body.contact)
          if (!parsed.ok) return parsed
          // Another contact's data must never decide for this one (nor be cached under its id).
          const sent = parsed.contact.contact_id
          if (sent !== contactId) return { ok: false, problem: `contact_id ${sent.slice(0, 19)}, not the ${contactId} asked for` }
          return { ok: true, value: parsed.contact }
        },
        () => new Problem('contact_not_found', `contact ${contactId} does not exist in organization ${org}`),
      ),
    listOpenInvoices: (org, listing): Promise<ListedInvoice[]> =>
      listAll(org, '/invoices', 'invoices', ListedInvoiceSchema, { filter_by: 'Status.Unpaid' }, listing),
    paidInvoicesPage: (org, since, page, listing): Promise<{ items: PaidInvoice[]; more: boolean }> =>
      call(
        org,
        '/invoices',
        { filter_by: 'Status.Paid', date_start: since, page: String(page), per_page: String(PER_PAGE) },
        readList('invoices', PaidInvoiceSchema),
        undefined,
        listing?.background === true,
      ),
    // List contacts, one page (group exposure): ids, links and outstanding receivables, 200 a page.
    contactsPage: (org, page, listing): Promise<{ items: ListedContact[]; more: boolean }> =>
      call(
        org,
        '/contacts',
        { page: String(page), per_page: String(PER_PAGE) },
        readList('contacts', ListedContactSchema),
        undefined,
        listing?.background === true,
      ),
    // Get Organization: its base currency (a background call: never one kept for decisions).
    fetchOrganization: (org) =>
      call(
        org,
        `/organizations/${org}`,
        {},
        (body) => {
          const found = OrganizationSchema.safeParse(body.organization)
          return found.success ? { ok: true, value: found.data } : { ok: false, problem: 'no organization.currency_code' }
        },
        undefined,
        true,
      ),
    async listOpenSalesOrders(org, listing): Promise<ListedSalesOrder[]> {
      // Open and partially invoiced orders are two listings; an order in both is counted once.
      const byId = new Map<string, ListedSalesOrder>()
      for (const filter of ['Status.Open', 'Status.PartiallyInvoiced']) {
        const orders = await listAll(org, '/salesorders', 'salesorders', ListedSalesOrderSchema, { filter_by: filter }, listing)
        for (const order of orders) byId.set(order.salesorder_id, order)
      }
      return [...byId.values()]
    },
  }
}
