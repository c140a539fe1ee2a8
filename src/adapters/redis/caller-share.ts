import { randomUUID } from 'node:crypto'
import type { CallerShare } from '../../services/contacts.js'
import { WINDOW_MS } from '../zoho/budget.js'
import { type RedisLink, viaRedis } from './link.js'

/** A sliding minute per caller, checked and taken in one step by Redis's clock. KEYS: the caller's minute. */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window + 1000)
return 0
`

/** In the organization's slot, like the budget it is a part of. */
export const callerShareKey = (org: string, caller: string) => `creditgate:v1:{${org}}:zoho:caller:${caller}`

/** Each caller's share counted across every instance; while Redis is down, `local` counts. */
export function createRedisCallerShare(link: RedisLink, limit: number, local: CallerShare): CallerShare {
  return {
    take: (org, caller) =>
      viaRedis(
        link,
        async () => {
          const wait = Number(await link.client.eval(TAKE, 1, callerShareKey(org, caller), limit, WINDOW_MS, randomUUID()))
          return wait > 0 ? { ok: false as const, retryAfterMs: wait, limit } : { ok: true as const }
        },
        () => local.take(org, caller),
      ),
  }
}
