import { type Case, type CaseState, expireCase } from '../domain/case.js'

/** A case in its organization's index: `key` orders cases by when they were opened. */
export interface CaseIndexEntry {
  readonly key: string
  readonly case: Case
}

/**
 * Where cases are kept: per organization, by case id, and indexed by when they were opened (all,
 * and by state). `put` writes only if the stored case is still at revision `seen` (0: none stored),
 * so two instances never overwrite each other's transition; false means it changed meanwhile, and
 * the caller reads it again.
 */
export interface CaseStore {
  get(org: string, caseId: string): Promise<Case | undefined>
  put(next: Case, seen: number): Promise<boolean>
  /** At most `count` cases (in `state`, or all) opened at or after `sinceMs`, or after the key `after`, oldest first. */
  page(
    org: string,
    query: { state?: CaseState | undefined; after?: string | undefined; sinceMs?: number | undefined; count: number },
  ): Promise<CaseIndexEntry[]>
}

const CURSOR = /^\d{15}\.case_[0-9a-f]{24}$/
export const isCaseCursor = (text: string) => CURSOR.test(text)

export interface CaseListQuery {
  /** Only this organization's cases (its own index); every organization's without it. */
  organization?: string | undefined
  state?: CaseState | undefined
  contactId?: string | undefined
  /** Opened at or after (ms). */
  since?: number | undefined
  limit: number
  /** A next_cursor of a previous page. */
  cursor?: string | undefined
}

/**
 * What one list request may read: cases looked at, in batches. The `state` filter reads that
 * state's index alone; `contact_id` is a filter over what is read, so a page may come back short
 * with a cursor when few cases match.
 */
export const CASE_LIST_BOUNDS = { scanned: 5000, batch: 200 } as const

/** The indexes a state is read from: an open case past its time is shown expired before the sweep stores it. */
const INDEXES: Record<CaseState | 'all', (CaseState | undefined)[]> = {
  all: [undefined],
  open: ['open'],
  expired: ['expired', 'open'],
  released: ['released'],
  rejected: ['rejected'],
  cleared: ['cleared'],
}

/**
 * Why indexes by state, not a read of every case: ../../docs/decisions/012-case-index-audit.md
 * A page of cases across organizations, oldest first: the indexes are merged by key, read a batch
 * at a time, and each case shown as it is now (an open case past its time, expired).
 */
export async function listCases(
  store: CaseStore,
  organizations: readonly string[],
  query: CaseListQuery,
  nowMs: number,
): Promise<{ cases: Case[]; next_cursor: string | null }> {
  const { state, contactId, since, limit } = query
  const sources = organizations.flatMap((org) =>
    INDEXES[state ?? 'all'].map((index) => ({ org, index, buffer: [] as CaseIndexEntry[], after: query.cursor, done: false })),
  )
  const head = async (source: (typeof sources)[number]) => {
    if (source.buffer.length === 0 && !source.done) {
      source.buffer = await store.page(source.org, {
        state: source.index,
        after: source.after,
        sinceMs: since,
        count: CASE_LIST_BOUNDS.batch,
      })
      source.done = source.buffer.length < CASE_LIST_BOUNDS.batch
      source.after = source.buffer.at(-1)?.key ?? source.after
    }
    return source.buffer[0]
  }
  const cases: Case[] = []
  let scanned = 0
  let last: string | undefined
  for (;;) {
    const heads = await Promise.all(sources.map(head))
    let next = -1
    heads.forEach((entry, i) => {
      if (entry && (next < 0 || entry.key < (heads[next] as CaseIndexEntry).key)) next = i
    })
    if (next < 0) return { cases, next_cursor: null }
    if (cases.length >= limit || scanned >= CASE_LIST_BOUNDS.scanned) return { cases, next_cursor: last ?? null }
    const entry = (sources[next] as (typeof sources)[number]).buffer.shift() as CaseIndexEntry
    scanned++
    last = entry.key
    const c = expireCase(entry.case, nowMs) ?? entry.case
    if (state && c.state !== state) continue
    if (contactId && c.contact_id !== contactId) continue
    cases.push(c)
  }
}

/** Every open case of an organization, a batch at a time (the sweep's walk). */
export async function* openCases(store: CaseStore, org: string): AsyncGenerator<Case> {
  let after: string | undefined
  for (;;) {
    const batch = await store.page(org, { state: 'open', after, count: CASE_LIST_BOUNDS.batch })
    for (const entry of batch) yield entry.case
    if (batch.length < CASE_LIST_BOUNDS.batch) return
    after = batch.at(-1)?.key
  }
}
