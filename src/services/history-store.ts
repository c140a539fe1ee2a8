import { compareIds } from '../domain/history.js'

/**
 * Where the decision history is kept (the store port) and reading it in order across
 * organizations: the merge behind listings (`historyBatches`) and the chunks a backtest worker
 * compares (`historyChunks`).
 */

/**
 * A stored decision: its position in the organization's history ("<ms>-<seq>", as Redis stream
 * ids), the record as JSON in UTF-8 and, for filters that need not read it, its contact and
 * outcome (absent on entries recorded before they were kept beside it). The record stays bytes
 * from Redis to the answer: a page is a copy of them, never decoded and encoded again.
 */
export interface StoredEntry {
  readonly id: string
  readonly json: Buffer
  readonly contactId?: string | undefined
  readonly decision?: string | undefined
}

/** A decision to record: made at `atMs` (its position is at that millisecond or later). */
export interface NewEntry {
  readonly decisionId: string
  readonly atMs: number
  readonly contactId: string
  readonly decision: string
  readonly json: string
}

export interface HistoryRange {
  /** Only entries before this position (inclusive: at or before it). */
  readonly before?: string | undefined
  readonly inclusive?: boolean | undefined
  /** Only entries recorded at or after this millisecond. */
  readonly sinceMs?: number | undefined
  /** Only entries recorded at or before this millisecond. */
  readonly untilMs?: number | undefined
}

/** Where the history is kept: a Redis stream per organization, or an in-process ring. */
export interface HistoryStore {
  append(org: string, entry: NewEntry): Promise<void>
  /** The record of a decision made at `atMs`, if still kept. */
  find(org: string, decisionId: string, atMs: number): Promise<string | undefined>
  /** Newest first, at most `count`. */
  page(org: string, range: HistoryRange, count: number): Promise<StoredEntry[]>
}

export interface HistoryEntry extends StoredEntry {
  readonly org: string
}

/** Entries read from each organization at a time. */
const PAGE = 1000
const COMMA = Buffer.from(',')

/** JSON texts joined by commas, as bytes: prefix, a, ",", b, …, suffix. */
export function joinJson(parts: readonly Buffer[], prefix = '', suffix = ''): Buffer {
  const out: Buffer[] = [Buffer.from(prefix)]
  for (const [i, part] of parts.entries()) {
    if (i > 0) out.push(COMMA)
    out.push(part)
  }
  out.push(Buffer.from(suffix))
  return Buffer.concat(out)
}

/**
 * Newest first across organizations, ordered by (position, organization), after the cursor
 * (position.organization) if any: a k-way merge of each organization's pages, in batches.
 */
export async function* historyBatches(
  store: Pick<HistoryStore, 'page'>,
  organizations: readonly string[],
  range: HistoryRange,
  cursor?: { id: string; org: string },
  size = PAGE,
): AsyncGenerator<HistoryEntry[]> {
  const sources = organizations.map((org) => ({
    org,
    buffer: [] as StoredEntry[],
    at: 0,
    before: cursor?.id,
    // At the cursor's own position, only organizations ordered after it are still to come.
    inclusive: cursor ? org < cursor.org : false,
    done: false,
  }))
  type Source = (typeof sources)[number]
  const refill = async (s: Source) => {
    s.buffer = await store.page(s.org, { ...range, before: s.before, inclusive: s.inclusive }, size)
    s.at = 0
    s.done = s.buffer.length < size
    const last = s.buffer.at(-1)
    if (last) {
      s.before = last.id
      s.inclusive = false
    }
  }
  for (;;) {
    await Promise.all(sources.filter((s) => s.at >= s.buffer.length && !s.done).map(refill))
    const batch: HistoryEntry[] = []
    for (;;) {
      let next: Source | undefined
      let best: StoredEntry | undefined
      for (const s of sources) {
        const head = s.buffer[s.at]
        if (!head) continue
        const order = best ? compareIds(head.id, best.id) : 1
        if (order > 0 || (order === 0 && next && s.org > next.org)) {
          next = s
          best = head
        }
      }
      if (!next || !best) break
      batch.push({ ...best, org: next.org })
      next.at++
      // A source whose page is used up is read again before anything is compared with it.
      if ((next.at >= next.buffer.length && !next.done) || batch.length >= size) break
    }
    if (batch.length === 0) return
    yield batch
  }
}

/** The newest `limit` entries in the range, in chunks: the records as JSON joined by commas, in UTF-8 (cheap to hand to a worker). */
export async function* historyChunks(
  store: Pick<HistoryStore, 'page'>,
  organizations: readonly string[],
  range: HistoryRange,
  limit: number,
  size = 500,
): AsyncGenerator<Buffer> {
  let left = limit
  for await (const batch of historyBatches(store, organizations, range, undefined, size)) {
    const taken = batch.length > left ? batch.slice(0, left) : batch
    left -= taken.length
    yield joinJson(taken.map((entry) => entry.json))
    if (left <= 0) return
    // An in-process store answers without I/O: give other work its turn between chunks.
    await new Promise((resolve) => setImmediate(resolve))
  }
}
