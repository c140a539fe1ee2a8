import type { FastifyBaseLogger } from 'fastify'
import type { Decision } from '../domain/decision.js'
import { boundRecord, type DecisionRecord, decisionTime, type FieldsRead, type RecordCut } from '../domain/history.js'
import type { HistoryEntry, HistoryRange, HistoryStore, StoredEntry } from './history-store.js'
import { historyBatches, historyChunks } from './history-store.js'

export type { HistoryEntry, HistoryRange, HistoryStore, NewEntry, StoredEntry } from './history-store.js'
export { historyBatches, historyChunks, joinJson } from './history-store.js'

/**
 * The decision history: every decision recorded with the facts it was made on, per organization,
 * newest first. Recording never delays or fails an answer: it happens after the answer, and a
 * store that fails is logged, never thrown.
 */

export interface ListQuery {
  /** Only this organization's decisions (its own stream); every organization's without it. */
  readonly organization?: string | undefined
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
  /** The record, as JSON, and the caller it belongs to. */
  get(decisionId: string): Promise<{ json: string; caller: string } | undefined>
  /** A page of records, as JSON in UTF-8, each as it was recorded. */
  list(query: ListQuery): Promise<{ decisions: Buffer[]; next_cursor: string | null }>
  /**
   * The newest `limit` kept decisions in the range, newest first across organizations (all, or
   * those given), in chunks: records as JSON joined by commas.
   */
  chunks(range: HistoryRange, limit: number, size?: number, organizations?: readonly string[]): AsyncGenerator<Buffer>
  /** The organizations looked in. */
  organizations(): readonly string[]
  /** Waits for the recordings under way (those of decisions just answered too). */
  flush(): Promise<void>
}

/**
 * What one list request may do: look at 10,000 entries or 16 MiB of them, and answer 512 KiB of
 * records (with a cursor for the rest), read 50 entries at a time. Bounded in bytes as well as in
 * entries, a page of the largest records (RECORD_BOUNDS: 32 of them) is read and written in a few
 * milliseconds, as bytes: four at once do not stall the service (test/system/history-bounds.test.ts).
 */
export const LIST_BOUNDS = { scanned: 10_000, scannedBytes: 16 * 1024 * 1024, pageBytes: 512 * 1024, batch: 50 } as const
/** A position (ms-seq: both safe integers, as Redis stream ids are) and an organization. */
const CURSOR = /^(\d{1,15}-\d{1,15})\.(\d{1,19})$/

export const isCursor = (text: string) => CURSOR.test(text)

/** The contact and outcome of an entry: kept beside it, or read from the record (entries written before they were). */
function facets(entry: StoredEntry): { contactId: string; decision: string } | undefined {
  if (entry.contactId !== undefined && entry.decision !== undefined) return { contactId: entry.contactId, decision: entry.decision }
  try {
    const record = JSON.parse(entry.json.toString()) as DecisionRecord
    return { contactId: record.contact_id, decision: record.decision }
  } catch {
    return undefined
  }
}

export function createHistoryService(options: {
  store: HistoryStore
  /** The organizations callers may ask about; those recorded since start are looked in too. */
  organizations: () => readonly string[]
  /** The custom fields the rules read now: kept whole in a record. */
  fieldsRead?: () => FieldsRead
  /** Told what was cut from a record to keep it within its bounds. */
  onCut?: (cut: RecordCut) => void
  log: FastifyBaseLogger
}): HistoryService {
  const { store, log } = options
  const seen = new Set<string>()
  const pending = new Set<Promise<void>>()
  const organizations = () => [...new Set([...options.organizations(), ...seen])].sort()
  const fieldsRead = options.fieldsRead ?? (() => NO_FIELDS)

  return {
    record(record) {
      seen.add(record.organization_id)
      const { json, cut } = boundRecord(record, fieldsRead())
      if (cut) options.onCut?.(cut)
      const entry = {
        decisionId: record.decision_id,
        atMs: decisionTime(record.decision_id) ?? Date.parse(record.evaluated_at),
        contactId: record.contact_id,
        decision: record.decision,
        json,
      }
      const done = store
        .append(record.organization_id, entry)
        .catch((err) => log.warn({ err, decision_id: record.decision_id }, 'decision not recorded'))
        .finally(() => pending.delete(done))
      pending.add(done)
    },
    async get(decisionId) {
      const at = decisionTime(decisionId)
      if (at === undefined) return undefined
      for (const org of organizations()) {
        const json = await store.find(org, decisionId, at)
        if (!json) continue
        try {
          return { json, caller: (JSON.parse(json) as DecisionRecord).caller }
        } catch {
          return undefined
        }
      }
      return undefined
    },
    async list(query) {
      const m = query.cursor ? CURSOR.exec(query.cursor) : null
      const cursor = m ? { id: m[1] as string, org: m[2] as string } : undefined
      const decisions: Buffer[] = []
      let bytes = 0
      let scanned = 0
      let scannedBytes = 0
      /** The last entry looked at and settled (taken or passed over): the next page starts after it. */
      let last: HistoryEntry | undefined
      let stopped = false
      const range = { sinceMs: query.sinceMs, untilMs: query.untilMs }
      scan: for await (const batch of historyBatches(
        store,
        query.organization === undefined ? organizations() : [query.organization],
        range,
        cursor,
        LIST_BOUNDS.batch,
      )) {
        for (const entry of batch) {
          if (scanned >= LIST_BOUNDS.scanned || scannedBytes >= LIST_BOUNDS.scannedBytes) {
            stopped = true
            break scan
          }
          scanned++
          scannedBytes += entry.json.length
          const found = entry.json.length > 0 ? facets(entry) : undefined
          if (
            found &&
            (query.contact_id === undefined || found.contactId === query.contact_id) &&
            (query.decision === undefined || found.decision === query.decision)
          ) {
            // A page holds at least one record, and no more bytes than pageBytes.
            if (decisions.length > 0 && bytes + entry.json.length > LIST_BOUNDS.pageBytes) {
              stopped = true
              break scan
            }
            decisions.push(entry.json)
            bytes += entry.json.length + 1
          }
          last = entry
          if (decisions.length >= query.limit) {
            stopped = true
            break scan
          }
        }
      }
      return { decisions, next_cursor: stopped && last ? `${last.id}.${last.org}` : null }
    },
    chunks: (range, limit, size, only) => historyChunks(store, only ?? organizations(), range, limit, size),
    organizations,
    async flush() {
      // Decisions are handed over after their answer, on the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve))
      await Promise.all([...pending])
    },
  }
}

const NO_FIELDS: FieldsRead = new Set()
