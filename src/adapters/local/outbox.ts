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

/** Callback deliveries noted in this process, per case. */
export function createLocalDeliveries(): DeliveryLog {
  const cases = new Map<string, Map<string, Delivery>>()
  return {
    async note(caseId, delivery) {
      const found = cases.get(caseId) ?? new Map<string, Delivery>()
      found.set(delivery.event_id, delivery)
      cases.set(caseId, found)
    },
    list: async (caseId) => [...(cases.get(caseId)?.values() ?? [])],
  }
}
