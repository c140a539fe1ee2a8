import { CASE_STATES, type Case, caseIndexKey, indexStart } from '../../domain/case.js'
import type { CaseIndexEntry, CaseStore } from '../../services/case-list.js'
import { type RedisConnection, viaRedis } from './connection.js'

/** The organization's cases (case id → JSON) and their revisions (case id → number), hash-tagged together. */
export const casesKey = (org: string) => `creditgate:v1:{${org}}:cases`
export const caseRevisionsKey = (org: string) => `creditgate:v1:{${org}}:case-revisions`
/**
 * The organization's cases in the order they were opened (`<opened ms, 15 digits>.<case id>`,
 * sorted sets of score 0 read by lexical range): all of them, and one per state.
 */
export const caseIndexesKey = (org: string, state?: Case['state']) => `creditgate:v1:{${org}}:case-index${state ? `:${state}` : ''}`

/**
 * KEYS: cases, revisions, the index of all cases, then the index of each state (CASE_STATES'
 * order). ARGV: case id, JSON, revision read, revision now, index member, the state's position
 * (1-based) in CASE_STATES. Writes only if nobody changed the case meanwhile, and keeps the case in
 * its state's index alone.
 */
const PUT = `
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[5])
for i = 4, #KEYS do
  if i - 3 == tonumber(ARGV[6]) then redis.call('ZADD', KEYS[i], 0, ARGV[5]) else redis.call('ZREM', KEYS[i], ARGV[5]) end
end
return 1
`

const indexKeys = (org: string) => [caseIndexesKey(org), ...CASE_STATES.map((state) => caseIndexesKey(org, state))]

/**
 * Cases in Redis, shared by every instance. While Redis is down they go to (and are read from)
 * the in-process store, the one fallback every Redis store has (viaRedis). A page reads a range of
 * an index and only those cases (`HMGET`), never the whole hash.
 */
export function createRedisCases(link: RedisConnection, local: CaseStore): CaseStore {
  const { client } = link
  const indexed = new Set<string>()
  /**
   * Cases stored before the indexes existed are indexed on an organization's first page in this
   * process, when the hash holds more cases than the index: a batch of `HSCAN` at a time, one `ZADD`
   * per index and batch (adding a member twice changes nothing).
   */
  const backfill = async (org: string) => {
    if (indexed.has(org)) return
    if ((await client.hlen(casesKey(org))) > (await client.zcard(caseIndexesKey(org)))) {
      let cursor = '0'
      do {
        const [next, flat] = await client.hscan(casesKey(org), cursor, 'COUNT', 500)
        cursor = next
        const members = new Map<Case['state'] | undefined, (string | number)[]>()
        for (let i = 1; i < flat.length; i += 2) {
          const c = JSON.parse(flat[i] as string) as Case
          for (const index of [undefined, c.state]) {
            const list = members.get(index) ?? []
            list.push(0, caseIndexKey(c))
            members.set(index, list)
          }
        }
        for (const [index, list] of members) await client.zadd(caseIndexesKey(org, index), ...list)
      } while (cursor !== '0')
    }
    indexed.add(org)
  }
  return {
    get: (org, caseId) =>
      viaRedis(
        link,
        async () => {
          const json = await client.hget(casesKey(org), caseId)
          return json ? (JSON.parse(json) as Case) : undefined
        },
        () => local.get(org, caseId),
      ),
    put: (next, seen) =>
      viaRedis(
        link,
        async () => {
          const org = next.organization_id
          const keys = [casesKey(org), caseRevisionsKey(org), ...indexKeys(org)]
          const state = CASE_STATES.indexOf(next.state) + 1
          const done = await client.eval(
            PUT,
            keys.length,
            ...keys,
            next.case_id,
            JSON.stringify(next),
            seen,
            next.revision,
            caseIndexKey(next),
            state,
          )
          return done === 1
        },
        () => local.put(next, seen),
      ),
    page: (org, query) =>
      viaRedis(
        link,
        async () => {
          await backfill(org)
          const min = query.after === undefined ? indexStart(query.sinceMs) : `(${query.after}`
          const members = await client.zrangebylex(caseIndexesKey(org, query.state), min, '+', 'LIMIT', 0, query.count)
          if (members.length === 0) return []
          const found = await client.hmget(casesKey(org), ...members.map((m) => m.slice(m.indexOf('.') + 1)))
          const entries: CaseIndexEntry[] = []
          members.forEach((key, i) => {
            const json = found[i]
            if (json) entries.push({ key, case: JSON.parse(json) as Case })
          })
          return entries
        },
        () => local.page(org, query),
      ),
  }
}
