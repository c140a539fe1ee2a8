import type { Case, CaseEventKind } from '../domain/case.js'
import { newMessageId, signatureHeaders } from '../lib/standard-webhooks.js'

/** A case event waiting to be delivered to the caller key that opened the case. */
export interface OutboxEvent {
  readonly id: string
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
 */
export interface OutboxStore {
  add(event: OutboxEvent): Promise<void>
  lease(nowMs: number, leaseMs: number, max: number): Promise<OutboxEvent[]>
  done(event: OutboxEvent): Promise<void>
  retry(event: OutboxEvent, dueMs: number): Promise<void>
}

export type DeliveryResult = 'delivered' | 'failed' | 'gave_up'

export interface CallbackOptions {
  store: OutboxStore
  /** Per caller key name: where its case events go and the secret that signs them. */
  targets: readonly { name: string; url: string; secret: string }[]
  now?: () => number
  /** First retry after this (ms), doubling up to an hour; events are given up 24 h after they happened. */
  backoffMs?: number
  timeoutMs?: number
  /** How long a leased event stays hidden from the other workers (default a minute, past the 10 s timeout). */
  leaseMs?: number
  onResult?: (result: DeliveryResult, event: OutboxEvent, detail: string) => void
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
  const targets = new Map(options.targets.map((t) => [t.name, t]))
  const deliver = async (event: OutboxEvent, now: number) => {
    const target = targets.get(event.caller)
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
  return {
    /** Queues the event for the caller that opened the case, if that caller has a callback URL. */
    async enqueue(kind: CaseEventKind, c: Case): Promise<void> {
      if (!targets.has(c.opened_by)) return
      const now = clock()
      const body = JSON.stringify({ type: `case.${kind}`, timestamp: new Date(now).toISOString(), data: c })
      await store.add({ id: newMessageId(), caller: c.opened_by, body, attempts: 0, firstMs: now })
    },
    /** Sends what is due; the number of events handled. */
    async tick(): Promise<number> {
      const now = clock()
      const due = await store.lease(now, options.leaseMs ?? LEASE_MS, BATCH)
      await Promise.all(
        due.map(async (event) => {
          const outcome = await deliver(event, now)
          if (outcome === 'delivered' || outcome === 'gave_up') {
            await store.done(event)
            options.onResult?.(outcome, event, outcome === 'gave_up' ? 'no CALLBACK_URLS entry for the caller any more' : 'accepted')
            return
          }
          const attempts = event.attempts + 1
          const dueMs = now + Math.min(base * 2 ** (attempts - 1), MAX_BACKOFF_MS)
          if (dueMs - event.firstMs > GIVE_UP_MS) {
            await store.done(event)
            options.onResult?.('gave_up', event, outcome)
            return
          }
          await store.retry({ ...event, attempts }, dueMs)
          options.onResult?.('failed', event, outcome)
        }),
      )
      return due.length
    },
  }
}
