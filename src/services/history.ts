import type { FastifyBaseLogger } from 'fastify'
import type { Decision } from '../domain/decision.js'
import { type DecisionRecord, decisionTime } from '../domain/history.js'

/**
 * The decision history: every decision recorded with the facts it was made on, per organization,
 * newest first. Recording never delays or fails an answer: it happens after the answer, and a
 * store that fails is logged, never thrown.
 */

/** A stored decision: its position in the organization's history ("<ms>-<seq>", as Redis stream ids) and the record as JSON. */
export interface StoredEntry {
  readonly id: string
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
  /** Records a decision made at `atMs` (its position is at that millisecond or later). */
  append(org: string, decisionId: string, atMs: number, json: string): Promise<void>
  /** The record of a decision made at `atMs`, if still kept. */
  find(org: string, decisionId: string, atMs: number): Promise<string | undefined>
  /** Newest first, at most `count`. */
  page(org: string, range: HistoryRange, count: number): Promise<StoredEntry[]>
}

/** Orders positions "<ms>-<seq>": negative when a is older. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am - bm || as - bs
}

/** Merges two newest-first pages into one of at most `count`. */
export function mergePages(a: readonly StoredEntry[], b: readonly StoredEntry[], count: number): StoredEntry[] {
  if (b.length === 0) return a.slice(0, count)
  if (a.length === 0) return b.slice(0, count)
  const out: StoredEntry[] = []
  let i = 0
  let j = 0
  while (out.length < count && (i < a.length || j < b.length)) {
    const x = a[i]
    const y = b[j]
    if (x && (!y || compareIds(x.id, y.id) >= 0)) {
      out.push(x)
      i++
    } else if (y) {
      out.push(y)
      j++
    }
  }
  return out
}

export interface HistoryEntry extends StoredEntry {
  readonly org: string
}

export interface ListQuery {
  readonly contact_id?: string | undefined
  readonly decision?: Decision | undefined
  readonly sinceMs?: number | undefined
  readonly untilMs?: number | undefined
  readonly limit: number
  readonly cursor?: string | undefined
}

export interface HistoryService {
  /** Records a decision after its answer; never throws, never waits. */
  record(record: DecisionRecord): void
  get(decisionId: string): Promise<DecisionRecord | undefined>
  list(query: ListQuery): Promise<{ decisions: DecisionRecord[]; next_cursor: string | null }>
  /** The newest `limit` kept decisions in the range, newest first across organizations, in chunks: records as JSON joined by commas. */
  chunks(range: HistoryRange, limit: number, size?: number): AsyncGenerator<string>
  /** The organizations looked in. */
  organizations(): readonly string[]
  /** Waits for the recordings under way (those of decisions just answered too). */
  flush(): Promise<void>
}

/** Entries a list request looks at before it answers with what it found and a cursor. */
export const MAX_SCANNED = 10_000
const PAGE = 1000
const CURSOR = /^(\d{1,15}-\d{1,20})\.(\d{1,19})$/

export const isCursor = (text: string) => CURSOR.test(text)

export function createHistoryService(options: {
  store: HistoryStore
  /** The organizations callers may ask about; those recorded since start are looked in too. */
  organizations: () => readonly string[]
  log: FastifyBaseLogger
}): HistoryService {
  const { store, log } = options
  const seen = new Set<string>()
  const pending = new Set<Promise<void>>()
  const organizations = () => [...new Set([...options.organizations(), ...seen])].sort()

  const batches = (range: HistoryRange, cursor?: { id: string; org: string }, size?: number) =>
    historyBatches(store, organizations(), range, cursor, size)

  const parse = (json: string): DecisionRecord | undefined => {
    try {
      return JSON.parse(json) as DecisionRecord
    } catch {
      return undefined
    }
  }

  return {
    record(record) {
      seen.add(record.organization_id)
      const at = decisionTime(record.decision_id) ?? Date.parse(record.evaluated_at)
      const done = store
        .append(record.organization_id, record.decision_id, at, JSON.stringify(record))
        .catch((err) => log.warn({ err, decision_id: record.decision_id }, 'decision not recorded'))
        .finally(() => pending.delete(done))
      pending.add(done)
    },
    async get(decisionId) {
      const at = decisionTime(decisionId)
      if (at === undefined) return undefined
      for (const org of organizations()) {
        const json = await store.find(org, decisionId, at)
        if (json) return parse(json)
      }
      return undefined
    },
    async list(query) {
      const m = query.cursor ? CURSOR.exec(query.cursor) : null
      const cursor = m ? { id: m[1] as string, org: m[2] as string } : undefined
      const decisions: DecisionRecord[] = []
      let scanned = 0
      let last: HistoryEntry | undefined
      scan: for await (const batch of batches({ sinceMs: query.sinceMs, untilMs: query.untilMs }, cursor)) {
        for (const entry of batch) {
          last = entry
          const record = parse(entry.json)
          if (
            record &&
            (query.contact_id === undefined || record.contact_id === query.contact_id) &&
            (query.decision === undefined || record.decision === query.decision)
          ) {
            decisions.push(record)
            if (decisions.length >= query.limit) break scan
          }
          if (++scanned >= MAX_SCANNED) break scan
        }
      }
      // Stopped early (a full page, or enough looked at): the cursor continues from the last entry seen.
      const stopped = last !== undefined && (decisions.length >= query.limit || scanned >= MAX_SCANNED)
      return { decisions, next_cursor: stopped && last ? `${last.id}.${last.org}` : null }
    },
    chunks: (range, limit, size) => historyChunks(store, organizations(), range, limit, size),
    organizations,
    async flush() {
      // Decisions are handed over after their answer, on the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve))
      await Promise.all([...pending])
    },
  }
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
      batch.push({ id: best.id, json: best.json, org: next.org })
      next.at++
      // A source whose page is used up is read again before anything is compared with it.
      if ((next.at >= next.buffer.length && !next.done) || batch.length >= size) break
    }
    if (batch.length === 0) return
    yield batch
  }
}

/** The newest `limit` entries in the range, in chunks: the records as JSON joined by commas (cheap to hand to a worker). */
export async function* historyChunks(
  store: Pick<HistoryStore, 'page'>,
  organizations: readonly string[],
  range: HistoryRange,
  limit: number,
  size = 500,
): AsyncGenerator<string> {
  let left = limit
  for await (const batch of historyBatches(store, organizations, range, undefined, size)) {
    const taken = batch.length > left ? batch.slice(0, left) : batch
    left -= taken.length
    yield taken.map((entry) => entry.json).join(',')
    if (left <= 0) return
    // An in-process store answers without I/O: give other work its turn between chunks.
    await new Promise((resolve) => setImmediate(resolve))
  }
}
