import { randomUUID } from 'node:crypto'
import type { ReceivablesStore, Snapshot, StoredCustomer } from '../../services/receivables-ports.js'

/** Claims of customers' reads kept at once; expired ones are forgotten first. */
const MAX_CLAIMS = 10_000

/** Snapshots in this process: the store without Redis, and the fallback while Redis is down. */
export function createLocalReceivables(now: () => number = Date.now): ReceivablesStore {
  const snapshots = new Map<string, Snapshot>()
  const locked = new Set<string>()
  const claims = new Map<string, { holder: string; until: number }>()
  return {
    read: async (org) => snapshots.get(org),
    async replace(org, snapshot) {
      snapshots.set(org, snapshot)
    },
    async replaceCustomer(org, customerId, customer: StoredCustomer) {
      const snapshot = snapshots.get(org)
      if (snapshot) snapshots.set(org, { ...snapshot, customers: new Map(snapshot.customers).set(customerId, customer) })
    },
    // The timer's refresh and a webhook burst's whole-organization read must not overlap.
    async lock(org) {
      if (locked.has(org)) return undefined
      locked.add(org)
      return async () => {
        locked.delete(org)
      }
    },
    async claimCustomer(org, customerId, ms) {
      const key = `${org}\n${customerId}`
      const at = now()
      const claim = claims.get(key)
      if (claim && claim.until > at) return { holder: claim.holder, endsInMs: claim.until - at }
      if (claims.size >= MAX_CLAIMS) for (const [old, { until }] of claims) if (until <= at) claims.delete(old)
      claims.delete(key)
      if (claims.size < MAX_CLAIMS) claims.set(key, { holder: randomUUID(), until: at + ms })
      return undefined
    },
    onChange: () => {},
  }
}
