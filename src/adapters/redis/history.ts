import { mergePages } from '../../domain/history.js'
import type { HistoryRange, HistoryStore, NewEntry, StoredEntry } from '../../services/history.js'
import type { RedisClient } from './client.js'
import { type RedisConnection, viaRedis } from './connection.js'

/**
 * The decision history in Redis: a stream per organization and, beside it, an index from each
 * decision id to its stream entry (both hash-tagged, so one script reaches both in a Cluster). An
 * entry is placed at the millisecond of its decision id when it can be, else after the newest
 * entry; the index finds it wherever it went, in one read, for as long as the stream keeps it
 * (docs/decisions/006-decision-index.md). While Redis is down, decisions go to the in-process
 * ring (the one fallback, viaRedis), where look-ups and listings find them too.
 */
export const historyKey = (org: string) => `creditgate:v1:{${org}}:decisions`
export const indexKey = (org: string) => `creditgate:v1:{${org}}:decision-index`

/**
 * The index's own field: the newest entry recorded before the stream had an index ("0-0" once no
 * such entry is left). Older entries are found as they were before, by reading forward from the
 * id's millisecond, a bounded number of entries; any other id is found in the index or not at all.
 */
const LEGACY = 'legacy_until'

/**
 * KEYS: stream, index. ARGV: max, trim batch, then five per entry: ms, decision id, record JSON,
 * contact id, decision. Appends the entries in their order, indexes them, and once the stream is
 * `batch` entries over `max`, removes its oldest entries with their index fields (the index lives
 * exactly as long as the entries). Returns the number of entries appended.
 */
export const APPEND = `
local stream, index = KEYS[1], KEYS[2]
local max, batch = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('HEXISTS', index, '${LEGACY}') == 0 then
  local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  redis.call('HSET', index, '${LEGACY}', newest and newest[1] or '0-0')
end
local n = 0
for at = 3, #ARGV, 5 do
  local fields = { 'd', ARGV[at + 1], 'j', ARGV[at + 2], 'c', ARGV[at + 3], 'o', ARGV[at + 4] }
  local id = redis.pcall('XADD', stream, ARGV[at] .. '-*', unpack(fields))
  if type(id) == 'table' and id.err then id = redis.call('XADD', stream, '*', unpack(fields)) end
  redis.call('HSET', index, ARGV[at + 1], id)
  n = n + 1
end
local excess = redis.call('XLEN', stream) - max
if excess >= batch then
  for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+', 'COUNT', excess)) do
    local f = entry[2]
    for i = 1, #f, 2 do
      if f[i] == 'd' then redis.call('HDEL', index, f[i + 1]) break end
    end
  end
  redis.call('XTRIM', stream, 'MAXLEN', max)
  local legacy = redis.call('HGET', index, '${LEGACY}')
  if legacy ~= '0-0' and #redis.call('XRANGE', stream, '-', legacy, 'COUNT', 1) == 0 then
    redis.call('HSET', index, '${LEGACY}', '0-0')
  end
end
return n
`

/**
 * KEYS: stream, index. ARGV: decision id, its millisecond, entries to read at most for a decision
 * recorded before the index. The record's JSON, or nil. No entry is read for an id the index does
 * not know, unless entries older than the index are still kept and the id is as old as they are.
 */
export const FIND = `
local stream, index = KEYS[1], KEYS[2]
local at, legacy = unpack(redis.call('HMGET', index, ARGV[1], '${LEGACY}'))
local function record(fields)
  for i = 1, #fields, 2 do
    if fields[i] == 'j' then return fields[i + 1] end
  end
  return false
end
if at then
  local entry = redis.call('XRANGE', stream, at, at)[1]
  return entry and record(entry[2]) or false
end
if legacy == '0-0' or (not legacy and redis.call('EXISTS', stream) == 0) then return false end
if legacy and tonumber(ARGV[2]) > tonumber(string.match(legacy, '^%d+')) then return false end
local start, left = ARGV[2] .. '-0', tonumber(ARGV[3])
while left > 0 do
  local entries = redis.call('XRANGE', stream, start, legacy or '+', 'COUNT', math.min(left, 100))
  for _, entry in ipairs(entries) do
    local f = entry[2]
    for i = 1, #f, 2 do
      if f[i] == 'd' and f[i + 1] == ARGV[1] then return record(f) end
    end
  end
  if #entries < math.min(left, 100) then return false end
  left = left - #entries
  start = '(' .. entries[#entries][1]
end
return false
`

/** Entries read forward from a decision's millisecond to find one recorded before the index existed (as before it). */
const LEGACY_FIND = 1000

/** The stream is trimmed once it is this many entries over `max` (about 1 %, at most 100: one trim per 100 decisions). */
export const trimBatch = (max: number) => Math.max(1, Math.min(100, Math.floor(max / 100)))

/** APPEND's keys and arguments for entries of one organization (the service, and the bench filling a history). */
export const appendArgs = (org: string, max: number, entries: readonly NewEntry[]) => [
  APPEND,
  2,
  historyKey(org),
  indexKey(org),
  max,
  trimBatch(max),
  ...entries.flatMap((e) => [Math.floor(e.atMs), e.decisionId, e.json, e.contactId, e.decision]),
]

/** Entries one script appends at most: a batch stays a few hundred microseconds of Redis's time. */
export const APPEND_BATCH = 200

/**
 * Why one script per organization per turn: ../../../docs/decisions/014-batched-history.md
 * Appends are batched: the entries handed over in one turn of the event loop are written together,
 * one script per organization (a round trip per turn, not per decision). Each append's promise
 * settles once its batch is written — in Redis, or, when Redis is down or fails, in the in-process
 * ring (viaRedis, entry by entry, as one at a time did) — so waiting for the appends under way
 * (HistoryService.flush, on close) waits for every pending entry.
 */
export function createRedisHistory(link: RedisConnection, local: HistoryStore, max: number): HistoryStore {
  const { client } = link
  let queued = new Map<string, NewEntry[]>()
  /** The write the entries now queued wait for (it takes them on the next turn of the event loop). */
  let next: Promise<Map<string, PromiseSettledResult<void>>> | undefined
  const write = async (org: string, entries: NewEntry[]) => {
    for (let at = 0; at < entries.length; at += APPEND_BATCH) {
      const batch = entries.slice(at, at + APPEND_BATCH)
      await viaRedis(
        link,
        async () => {
          await client.eval(...(appendArgs(org, max, batch) as [string, number, ...(string | number)[]]))
        },
        async () => {
          for (const entry of batch) await local.append(org, entry)
        },
      )
    }
  }
  const writeAll = async () => {
    await new Promise((resolve) => setImmediate(resolve))
    const batches = queued
    queued = new Map()
    next = undefined
    // An organization's batch failing fails its own appends only.
    const results = await Promise.allSettled([...batches].map(([org, entries]) => write(org, entries)))
    return new Map([...batches.keys()].map((org, i) => [org, results[i] as PromiseSettledResult<void>]))
  }
  return {
    async append(org, entry) {
      const list = queued.get(org)
      if (list) list.push(entry)
      else queued.set(org, [entry])
      next ??= writeAll()
      const outcome = (await next).get(org)
      if (outcome?.status === 'rejected') throw outcome.reason
    },
    find: (org, decisionId, atMs) =>
      viaRedis(
        link,
        async () => {
          const json = (await client.eval(FIND, 2, historyKey(org), indexKey(org), decisionId, Math.floor(atMs), LEGACY_FIND)) as
            | string
            | null
          return json ?? local.find(org, decisionId, atMs)
        },
        () => local.find(org, decisionId, atMs),
      ),
    page: (org, range, count) =>
      viaRedis(
        link,
        async () => mergePages(await readPage(client, org, range, count), await local.page(org, range, count), count),
        () => local.page(org, range, count),
      ),
  }
}

/** One page of an organization's stream, newest first, the records as bytes (also read by backtest workers with a client of their own). */
export async function readPage(
  client: Pick<RedisClient, 'xrevrangeBuffer'>,
  org: string,
  range: HistoryRange,
  count: number,
): Promise<StoredEntry[]> {
  const { before, untilMs, sinceMs } = range
  const end =
    before === undefined
      ? untilMs === undefined
        ? '+'
        : String(untilMs)
      : untilMs !== undefined && Number(before.split('-')[0]) > untilMs
        ? String(untilMs)
        : range.inclusive
          ? before
          : `(${before}`
  const start = sinceMs === undefined ? '-' : String(sinceMs)
  const raw = await client.xrevrangeBuffer(historyKey(org), end, start, 'COUNT', count)
  return raw.map(([id, fields]) => {
    const entry: { id: string; json: Buffer; contactId?: string; decision?: string } = { id: id.toString(), json: EMPTY }
    // The field names are one letter: compared as bytes, not decoded (a backtest reads 400,000 of them).
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]
      const value = fields[i + 1] as Buffer
      if (name?.length !== 1) continue
      if (name[0] === J) entry.json = value
      else if (name[0] === C) entry.contactId = value.toString()
      else if (name[0] === O) entry.decision = value.toString()
    }
    return entry
  })
}

const EMPTY = Buffer.alloc(0)
const [J, C, O] = [0x6a, 0x63, 0x6f] // 'j', 'c', 'o'
