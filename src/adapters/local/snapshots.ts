import type { SnapshotStore } from '../../services/snapshots.js'

/** Snapshots in this process: the store without Redis, and the fallback while Redis is down. */
export function createLocalSnapshots<T>(): SnapshotStore<T> {
  const snapshots = new Map<string, T>()
  const locked = new Set<string>()
  return {
    read: async (org) => snapshots.get(org),
    async replace(org, snapshot) {
      snapshots.set(org, snapshot)
    },
    async lock(org) {
      if (locked.has(org)) return undefined
      locked.add(org)
      return async () => {
        locked.delete(org)
      }
    },
    onChange: () => {},
  }
}
