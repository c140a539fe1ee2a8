import type { ReceivablesStore, Snapshot, StoredCustomer } from '../services/receivables.js'

/** Snapshots in this process: the store without Redis, and the fallback while Redis is down. */
export function createMemoryReceivables(): ReceivablesStore {
  const snapshots = new Map<string, Snapshot>()
  return {
    read: async (org) => snapshots.get(org),
    async replace(org, snapshot) {
      snapshots.set(org, snapshot)
    },
    async replaceCustomer(org, customerId, customer: StoredCustomer) {
      const snapshot = snapshots.get(org)
      if (snapshot) snapshots.set(org, { ...snapshot, customers: new Map(snapshot.customers).set(customerId, customer) })
    },
    // One process: the service already refreshes an organization once at a time.
    lock: async () => async () => {},
    onChange: () => {},
  }
}
