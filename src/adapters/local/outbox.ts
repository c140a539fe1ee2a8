import type { Delivery, DeliveryLog, OutboxEvent, OutboxStore } from '../../services/callbacks.js'

/** Events waiting in the process at most: a day of 7 case events a minute, 10–20 MB (each holds its case, 1–2 KB of JSON). */
export const OUTBOX_EVENTS_IN_PROCESS = 10_000

/**
 * The outbox in this process: without Redis, and while Redis is down (lost on restart: the README
 * says so). It keeps at most `max` events: a new one past that pushes out the oldest one not being
 * sent, which `add` returns for the service to give up (noted, counted and logged as every
 * given-up event), never dropped unsaid. The oldest goes rather than the newest: it is the nearest
 * to being given up anyway, and a later event of its case carries the case as it is now.
 */
export function createLocalOutbox(max = OUTBOX_EVENTS_IN_PROCESS): OutboxStore {
  /** In the order they were added (a retry keeps an event's place): the first is the oldest. */
  const events = new Map<string, { event: OutboxEvent; dueMs: number; leased: boolean }>()
  return {
    async add(event) {
      const pushed: OutboxEvent[] = []
      for (const [id, e] of events) {
        if (events.size < max) break
        if (e.leased) continue
        events.delete(id)
        pushed.push(e.event)
      }
      events.set(event.id, { event, dueMs: 0, leased: false })
      return pushed
    },
    async lease(nowMs, leaseMs, max) {
      const due = [...events.values()].filter((e) => e.dueMs <= nowMs).slice(0, max)
      for (const e of due) {
        e.dueMs = nowMs + leaseMs
        e.leased = true
      }
      return due.map((e) => e.event)
    },
    async done(event) {
      events.delete(event.id)
    },
    async retry(event, dueMs) {
      events.set(event.id, { event, dueMs, leased: false })
    },
  }
}

/** A case's deliveries are kept this long after their last change, in Redis (a `PEXPIRE`) and here. */
export const DELIVERIES_TTL_MS = 30 * 86_400_000
/** Deliveries kept per case, the newest: a case has a handful of events (opened, released, …); 100 is ten re-opening loops. */
export const DELIVERIES_PER_CASE = 100

/**
 * Callback deliveries noted in this process, per case: dropped DELIVERIES_TTL_MS after the case's
 * last note, as Redis expires them (looked at on every note and list), and the newest
 * DELIVERIES_PER_CASE of a case.
 */
export function createLocalDeliveries(now: () => number = Date.now): DeliveryLog {
  /** By case, in the order of their last note: the first is the one to expire first. */
  const cases = new Map<string, { lastMs: number; deliveries: Map<string, Delivery> }>()
  const prune = () => {
    for (const [caseId, kept] of cases) {
      if (now() - kept.lastMs < DELIVERIES_TTL_MS) return
      cases.delete(caseId)
    }
  }
  return {
    async note(caseId, delivery) {
      prune()
      const deliveries = cases.get(caseId)?.deliveries ?? new Map<string, Delivery>()
      cases.delete(caseId)
      cases.set(caseId, { lastMs: now(), deliveries })
      deliveries.set(delivery.event_id, delivery)
      if (deliveries.size > DELIVERIES_PER_CASE) deliveries.delete(deliveries.keys().next().value as string)
    },
    async list(caseId) {
      prune()
      return [...(cases.get(caseId)?.deliveries.values() ?? [])]
    },
  }
}
