import type { AuditEntry, AuditKind, NewAuditEntry } from '../domain/audit.js'

/** Where the trail is kept: a Redis stream, or an in-process ring. Newest first, before `before` (exclusive). */
export interface AuditStore {
  append(entry: NewAuditEntry): Promise<void>
  page(before: string | undefined, count: number): Promise<AuditEntry[]>
}

export interface AuditQuery {
  readonly kind?: AuditKind | undefined
  readonly contactId?: string | undefined
  readonly caseId?: string | undefined
  readonly sinceMs?: number | undefined
  readonly limit: number
  readonly cursor?: string | undefined
}

/** What one request reads at most: entries looked at, in batches (a page may come back short with a cursor). */
export const AUDIT_BOUNDS = { scanned: 10_000, batch: 200 } as const
/** A stream id ("<ms>-<seq>"). */
export const isAuditCursor = (text: string) => /^\d{1,15}-\d{1,15}$/.test(text)

export interface AuditService {
  /** Records an entry; never throws, never waits (a store failing is logged). */
  record(entry: Omit<NewAuditEntry, 'at'>): void
  list(query: AuditQuery): Promise<{ entries: AuditEntry[]; next_cursor: string | null }>
  /** Waits for the recordings under way. */
  flush(): Promise<void>
}

/** One trail of people's actions (who, with which roles): ../../docs/decisions/012-case-index-audit.md */
export function createAudit(store: AuditStore, onError: (err: unknown) => void, now: () => number = Date.now): AuditService {
  const pending = new Set<Promise<void>>()
  return {
    record(entry) {
      const done = store
        .append({ at: new Date(now()).toISOString(), ...entry })
        .catch(onError)
        .finally(() => pending.delete(done))
      pending.add(done)
    },
    async list({ kind, contactId, caseId, sinceMs, limit, cursor }) {
      const entries: AuditEntry[] = []
      let before = cursor
      let scanned = 0
      while (scanned < AUDIT_BOUNDS.scanned) {
        const batch = await store.page(before, AUDIT_BOUNDS.batch)
        for (const entry of batch) {
          if (sinceMs !== undefined && Date.parse(entry.at) < sinceMs) return { entries, next_cursor: null }
          if (entries.length >= limit) return { entries, next_cursor: before ?? null }
          scanned++
          before = entry.id
          if (kind && entry.kind !== kind) continue
          if (contactId && entry.contact_id !== contactId) continue
          if (caseId && entry.case_id !== caseId) continue
          entries.push(entry)
        }
        if (batch.length < AUDIT_BOUNDS.batch) return { entries, next_cursor: null }
      }
      return { entries, next_cursor: before ?? null }
    },
    flush: async () => {
      await Promise.all([...pending])
    },
  }
}
