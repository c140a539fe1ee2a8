/** A store of per-organization snapshots (payment facts, group balances): replaced whole, one refresh at a time. */
export interface SnapshotStore<T> {
  read(org: string): Promise<T | undefined>
  replace(org: string, snapshot: T): Promise<void>
  /** One refresh of an organization at a time: the release, or undefined when another holds it. */
  lock(org: string): Promise<(() => Promise<void>) | undefined>
  /** Another instance stored a new snapshot of the organization. */
  onChange(listener: (org: string) => void): void
}

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
