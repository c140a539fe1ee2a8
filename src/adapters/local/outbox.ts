import type { Delivery, DeliveryLog, OutboxEvent, OutboxStore } from '../../services/callbacks.js'

/** The outbox in this process: without Redis, and while Redis is down (lost on restart: the README says so). */
export function createLocalOutbox(): OutboxStore {
  const events = new Map<string, { event: OutboxEvent; dueMs: number }>()
  return {
    async add(event) {
      events.set(event.id, { event, dueMs: 0 })
    },
    async lease(nowMs, leaseMs, max) {
      const due = [...events.values()].filter((e) => e.dueMs <= nowMs).slice(0, max)
      for (const e of due) e.dueMs = nowMs + leaseMs
      return due.map((e) => e.event)
    },
    async done(event) {
      events.delete(event.id)
    },
    async retry(event, dueMs) {
      events.set(event.id, { event, dueMs })
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
