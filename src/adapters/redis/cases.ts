import type { Case } from '../../domain/case.js'
import type { CaseStore } from '../../services/cases.js'
import { type RedisConnection, viaRedis } from './connection.js'

/** The organization's cases (case id → JSON) and their revisions (case id → number), hash-tagged together. */
export const casesKey = (org: string) => `creditgate:v1:{${org}}:cases`
export const caseRevisionsKey = (org: string) => `creditgate:v1:{${org}}:case-revisions`

/** KEYS: cases, revisions. ARGV: case id, JSON, revision read, revision now. Writes only if nobody changed the case meanwhile. */
const PUT = `
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return 1
`

/**
 * Cases in Redis, shared by every instance. While Redis is down they go to (and are read from)
 * the in-process store, the one fallback every Redis store has (viaRedis).
 */
export function createRedisCases(link: RedisConnection, local: CaseStore): CaseStore {
  const { client } = link
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
          const done = await client.eval(
            PUT,
            2,
            casesKey(org),
            caseRevisionsKey(org),
            next.case_id,
            JSON.stringify(next),
            seen,
            next.revision,
          )
          return done === 1
        },
        () => local.put(next, seen),
      ),
    list: (org) =>
      viaRedis(
        link,
        async () => Object.values(await client.hgetall(casesKey(org))).map((json) => JSON.parse(json) as Case),
        () => local.list(org),
      ),
  }
}
