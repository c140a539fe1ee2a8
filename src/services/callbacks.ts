import { z } from 'zod'
import type { Case, CaseEventKind } from '../domain/case.js'
import { newMessageId, signatureHeaders } from '../lib/standard-webhooks.js'

/** A case event waiting to be delivered to the caller key that opened the case. */
export interface OutboxEvent {
  readonly id: string
  readonly caseId: string
  /** `case.opened`, `case.released`, … */
  readonly type: string
  readonly caller: string
  /** The JSON body, fixed when the event happened: every retry sends the same bytes. */
  readonly body: string
  readonly attempts: number
  /** When the event happened (ms): it is given up 24 hours later. */
  readonly firstMs: number
}

/**
 * The durable outbox. `lease` takes the events due by `nowMs` and hides them for `leaseMs`, so
 * that one instance sends each; `done` removes an event, `retry` makes it due again at `dueMs`.
 * `add` returns the events it pushed out to make room (a bounded store, full), which the service
 * gives up.
 */
export interface OutboxStore {
  add(event: OutboxEvent): Promise<OutboxEvent[]>
  lease(nowMs: number, leaseMs: number, max: number): Promise<OutboxEvent[]>
  done(event: OutboxEvent): Promise<void>
  retry(event: OutboxEvent, dueMs: number): Promise<void>
}

export type DeliveryResult = 'delivered' | 'failed' | 'gave_up'

/** How a case's callback is doing, shown on GET /cases/{case_id}. */
export const DeliverySchema = z
  .object({
    event_id: z.string().describe('The webhook-id header, the same on every attempt'),
    type: z.string().describe('case.opened, case.released, case.rejected, case.expired or case.reopened'),
    state: z.enum(['pending', 'delivered', 'gave_up']),
    attempts: z.number().int().min(0),
    last_result: z.string().nullable().describe('accepted, HTTP 500, a network error…; null before the first attempt'),
    at: z.string().describe('When this was last updated'),
  })
  .meta({ id: 'CallbackDelivery' })
export type Delivery = z.output<typeof DeliverySchema>

/** Where deliveries are noted, per case (kept 30 days). */
export interface DeliveryLog {
  note(caseId: string, delivery: Delivery): Promise<void>
  list(caseId: string): Promise<Delivery[]>
}

export interface Target {
  readonly name: string
  readonly url: string
  readonly secret: string
}

/** The organization of a queued event: the case in its body says. */
const organizationOf = (body: string) => {
  try {
    return (JSON.parse(body) as { data?: { organization_id?: string } }).data?.organization_id ?? ''
  } catch {
    return ''
  }
}

export interface CallbackOptions {
  store: OutboxStore
  deliveries: DeliveryLog
  /** Per caller key name, in the case's organization: where its case events go and the secret that signs them. */
  targets: readonly Target[] | ((org: string) => readonly Target[])
  now?: () => number
  /** First retry after this (ms), doubling up to an hour; events are given up 24 h after they happened. */
  backoffMs?: number
  timeoutMs?: number
  /** How long a leased event stays hidden from the other workers (default a minute, past the 10 s timeout). */
  leaseMs?: number
  /** After each attempt or give-up: `attempts` made in all (0: given up unsent). */
  onResult?: (result: DeliveryResult, event: OutboxEvent, detail: string, attempts: number) => void
}

export const GIVE_UP_MS = 24 * 3_600_000
const MAX_BACKOFF_MS = 3_600_000
const LEASE_MS = 60_000
const BATCH = 20

/** Case events as Standard Webhooks payloads (`type`, `timestamp`, `data`), delivered at least once. */
export function createCallbacks(options: CallbackOptions) {
  const { store } = options
  const clock = options.now ?? Date.now
  const base = options.backoffMs ?? 5000
  const { targets } = options
  const targetOf = (org: string, caller: string) => (typeof targets === 'function' ? targets(org) : targets).find((t) => t.name === caller)
  const deliver = async (event: OutboxEvent, now: number) => {
    const target = targetOf(organizationOf(event.body), event.caller)
    if (!target) return 'gave_up' as const
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(target.secret, event.id, Math.floor(now / 1000), event.body) },
        body: event.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      })
      await res.body?.cancel()
      return res.ok ? ('delivered' as const) : `HTTP ${res.status}`
    } catch (err) {
      return err instanceof Error ? err.message : String(err)
    }
  }
  const note = (event: OutboxEvent, state: Delivery['state'], attempts: number, result: string | null, now: number) =>
    options.deliveries.note(event.caseId, {
      event_id: event.id,
      type: event.type,
      state,
      attempts,
      last_result: result,
      at: new Date(now).toISOString(),
    })
  /** Noted on the case and told (metrics, log); failed is noted pending: it is retried. */
  const report = async (event: OutboxEvent, result: DeliveryResult, attempts: number, detail: string, now: number) => {
    await note(event, result === 'failed' ? 'pending' : result, attempts, detail, now)
    options.onResult?.(result, event, detail, attempts)
  }
  return {
    /** Queues the event for the caller that opened the case, if that caller has a callback URL. */
    async enqueue(kind: CaseEventKind, c: Case): Promise<void> {
      if (!targetOf(c.organization_id, c.opened_by)) return
      const now = clock()
      const type = `case.${kind}`
      const body = JSON.stringify({ type, timestamp: new Date(now).toISOString(), data: c })
      const event = { id: newMessageId(), caseId: c.case_id, type, caller: c.opened_by, body, attempts: 0, firstMs: now }
      const pushed = await store.add(event)
      await note(event, 'pending', 0, null, now)
      for (const old of pushed)
        await report(old, 'gave_up', old.attempts, 'the outbox was full: the oldest event made room for a newer one', now)
    },
    deliveries: (caseId: string) => options.deliveries.list(caseId),
    /** Sends what is due; the number of events handled. */
    async tick(): Promise<number> {
      const now = clock()
      const due = await store.lease(now, options.leaseMs ?? LEASE_MS, BATCH)
      await Promise.all(
        due.map(async (event) => {
          // Not sent in time (a backlog behind a target that hangs): never sent later than that.
          if (now - event.firstMs > GIVE_UP_MS) {
            await store.done(event)
            return report(event, 'gave_up', event.attempts, `not sent within ${GIVE_UP_MS / 3_600_000} hours of the event`, now)
          }
          const outcome = await deliver(event, now)
          const attempts = event.attempts + 1
          if (outcome === 'delivered' || outcome === 'gave_up') {
            const detail = outcome === 'gave_up' ? 'no CALLBACK_URLS entry for the caller any more' : 'accepted'
            await store.done(event)
            return report(event, outcome, attempts, detail, now)
          }
          const dueMs = now + Math.min(base * 2 ** (attempts - 1), MAX_BACKOFF_MS)
          const given = dueMs - event.firstMs > GIVE_UP_MS
          if (given) await store.done(event)
          else await store.retry({ ...event, attempts }, dueMs)
          await report(event, given ? 'gave_up' : 'failed', attempts, outcome, now)
        }),
      )
      return due.length
    },
  }
}
