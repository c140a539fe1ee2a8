import { randomUUID } from 'node:crypto'
import type { CallerShare } from '../../services/contacts.js'
import { WINDOW_MS } from '../local/budget.js'
import type { LocalCallerShare } from '../local/caller-share.js'
import { budgetKeys } from './budget.js'
import { type RedisConnection, viaRedis } from './connection.js'

/**
 * shareVerdict (local/caller-share.ts) in one step by Redis's clock, on the organization's
 * shared minute. KEYS: the budget's calls (read only), the calls the share allowed, the caller's
 * calls, the callers that asked (caller → its last ask). ARGV: budget, reserve, window, caller, a
 * new call's id. The minute's calls are the budget's or the allowed ones, whichever are more (an
 * allowed call reaches the budget only when its fetch starts). Returns {1} or {0, ms until the
 * caller's next call can start, its calls, the callers}.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local budget, reserve, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local since = now - window
redis.call('ZADD', KEYS[4], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', since)
redis.call('PEXPIRE', KEYS[4], window + 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', since)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', since)
local calls = KEYS[1]
local spent = redis.call('ZCOUNT', KEYS[1], '(' .. since, '+inf')
local allowed = redis.call('ZCARD', KEYS[2])
if allowed > spent then
  calls = KEYS[2]
  spent = allowed
end
local mine = redis.call('ZCARD', KEYS[3])
local callers = math.max(2, redis.call('ZCARD', KEYS[4]))
if budget - spent > reserve or mine * callers < budget then
  redis.call('ZADD', KEYS[3], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[3], window + 1000)
  redis.call('ZADD', KEYS[2], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], window + 1000)
  return {1, 0, mine, callers}
end
local first = nil
local fair = math.ceil(budget / callers)
local own = redis.call('ZRANGE', KEYS[3], mine - fair, mine - fair, 'WITHSCORES')
if own[2] then first = tonumber(own[2]) end
local org = redis.call('ZRANGEBYSCORE', calls, '(' .. since, '+inf', 'WITHSCORES', 'LIMIT', spent - (budget - reserve), 1)
if org[2] and (first == nil or tonumber(org[2]) < first) then first = tonumber(org[2]) end
if first == nil then return {0, window, mine, callers} end
return {0, first + window - now, mine, callers}
`

/** In the organization's slot, with the budget they are a part of. */
export const callerShareKey = (org: string, caller: string) => `creditgate:v1:{${org}}:zoho:caller:${caller}`
export const callersKey = (org: string) => `creditgate:v1:{${org}}:zoho:callers`
export const allowedKey = (org: string) => `creditgate:v1:{${org}}:zoho:allowed`

/**
 * The share counted across every instance, on the organization's shared minute; while Redis is
 * down, `local` decides, going on from the takes it was told of.
 */
export function createRedisCallerShare(
  link: RedisConnection,
  limitsOf: (org: string) => { readonly budget: number; readonly reserve: number },
  local: LocalCallerShare,
): CallerShare {
  return {
    take: (org, caller) =>
      viaRedis(
        link,
        async () => {
          // The organization's own budget and reserve (ORGANIZATIONS_FILE), as its Zoho budget counts them.
          const limits = limitsOf(org)
          const keys = [budgetKeys(org)[0] as string, allowedKey(org), callerShareKey(org, caller), callersKey(org)]
          const [ok, wait, used, callers] = (await link.client.eval(
            TAKE,
            4,
            ...keys,
            limits.budget,
            limits.reserve,
            WINDOW_MS,
            caller,
            randomUUID(),
          )) as [number, number, number, number]
          local.note(org, caller, ok === 1)
          if (ok === 1) return { ok: true as const }
          return { ok: false as const, retryAfterMs: wait, used, fair: Math.ceil(limits.budget / callers) }
        },
        () => local.take(org, caller),
      ),
  }
}
