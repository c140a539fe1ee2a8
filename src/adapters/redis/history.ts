import { type HistoryRange, type HistoryStore, mergePages, type StoredEntry } from '../../services/history.js'
import { type RedisClient, type RedisLink, viaRedis } from './link.js'

/**
 * The decision history in Redis: a stream per organization (hash-tagged), capped with
 * XADD MAXLEN ~ max. An entry is placed at the millisecond of its decision id when it can be
 * (else just after the newest entry), so that a look-up reads from that millisecond on. While
 * Redis is down, decisions go to the in-process ring (the one fallback, viaRedis), where look-ups
 * and listings find them too.
 */
export const historyKey = (org: string) => `creditgate:v1:{${org}}:decisions`

export const APPEND = `
local id = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[2] .. '-*', 'd', ARGV[3], 'j', ARGV[4])
if type(id) == 'table' and id.err then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[3], 'j', ARGV[4])
end
return id
`

/** Entries read forward from a decision's millisecond before giving up on finding it. */
const FIND_PAGES = 10
const FIND_PAGE = 100

type RawEntry = [id: string, fields: string[]]
const field = (fields: string[], name: string) => {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

export function createRedisHistory(link: RedisLink, local: HistoryStore, max: number): HistoryStore {
  const { client } = link
  return {
    append: (org, decisionId, atMs, json) =>
      viaRedis(
        link,
        async () => {
          await client.eval(APPEND, 1, historyKey(org), max, Math.floor(atMs), decisionId, json)
        },
        () => local.append(org, decisionId, atMs, json),
      ),
    find: (org, decisionId, atMs) =>
      viaRedis(
        link,
        async () => {
          let start = `${Math.floor(atMs)}-0`
          for (let i = 0; i < FIND_PAGES; i++) {
            const entries = (await client.xrange(historyKey(org), start, '+', 'COUNT', FIND_PAGE)) as RawEntry[]
            for (const [, fields] of entries) if (field(fields, 'd') === decisionId) return field(fields, 'j')
            const last = entries.at(-1)
            if (!last || entries.length < FIND_PAGE) break
            start = `(${last[0]}`
          }
          return local.find(org, decisionId, atMs)
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

/** One page of an organization's stream, newest first (also read by backtest workers with a client of their own). */
export async function readPage(
  client: Pick<RedisClient, 'xrevrange'>,
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
  const raw = (await client.xrevrange(historyKey(org), end, start, 'COUNT', count)) as RawEntry[]
  return raw.map(([id, fields]) => ({ id, json: field(fields, 'j') ?? '' }))
}
