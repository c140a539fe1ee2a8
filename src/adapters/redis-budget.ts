import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { isProblem } from '../errors.js'
import type { RedisLink } from './redis.js'
import {
  acquireWith,
  type BudgetLimits,
  type BudgetRefusal,
  type BudgetVerdict,
  createLocalBudget,
  WINDOW_MS,
  type ZohoBudget,
} from './zoho-budget.js'

/**
 * Checks and takes a slot in one step, so that instances racing for the last call of the minute
 * cannot both win. KEYS: calls (sliding minute), in-flight leases, pause. Redis's clock decides.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[5])
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return {0, paused, 'paused'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now, 'spent'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return {0, 1000, 'busy'} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window + 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) + 1000)
return {1, 0, 'ok', redis.call('ZCARD', KEYS[1])}
`

/** Extends a pause, never shortens one. */
const PAUSE = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1
`

/** Keys share the {org} hash tag, so the script's keys live in one Redis Cluster slot. */
export const budgetKeys = (org: string) => [
  `creditgate:v1:{${org}}:zoho:calls`,
  `creditgate:v1:{${org}}:zoho:inflight`,
  `creditgate:v1:{${org}}:zoho:paused`,
]

/**
 * The per-organization Zoho budget shared by every instance. While Redis is down each instance
 * falls back to an in-process budget that cannot know what the others spend, so it takes only
 * its share: what was left of the shared minute when Redis was last seen, divided by the number
 * of live instances. Together they stay inside the budget.
 */
export function createRedisBudget(link: RedisLink, limits: BudgetLimits): ZohoBudget {
  const leaseMs = limits.waitMs + 5000
  const lastSeen = new Map<string, { count: number; at: number }>()
  /** This instance's calls of the last minute, whichever budget let them out. */
  const own = new Map<string, { id: string; at: number }[]>()
  const record = (org: string, id: string) => {
    const calls = (own.get(org) ?? []).filter((c) => c.at > Date.now() - WINDOW_MS)
    calls.push({ id, at: Date.now() })
    own.set(org, calls)
  }
  // Back on Redis: put this instance's recent calls (made while it was away, or lost with
  // Redis's data) into the shared window. ZADD of the same member is idempotent.
  link.onChange(async (up) => {
    if (!up) return
    for (const [org, calls] of own) {
      const recent = calls.filter((c) => c.at > Date.now() - WINDOW_MS)
      if (recent.length === 0) continue
      const key = budgetKeys(org)[0] as string
      await link.client
        .zadd(key, 'NX', ...recent.flatMap((c) => [c.at, c.id]))
        .then(() => link.client.pexpire(key, WINDOW_MS + 1000))
        .catch((err) => link.failed(err))
    }
  })
  const local = createLocalBudget(limits, (org) => {
    const seen = lastSeen.get(org)
    const carried = seen && Date.now() - seen.at < WINDOW_MS ? seen.count : 0
    const instances = Math.max(1, link.instances)
    return {
      perMinute: Math.floor(Math.max(0, limits.requestsPerMinute - carried) / instances),
      concurrency: Math.max(1, Math.floor(limits.maxConcurrency / instances)),
    }
  })
  const check = async (org: string, id: string): Promise<BudgetVerdict> => {
    const [ok, wait, why, count] = (await link.client.eval(
      ACQUIRE,
      3,
      ...budgetKeys(org),
      limits.requestsPerMinute,
      limits.maxConcurrency,
      leaseMs,
      id,
      WINDOW_MS,
    )) as [number, number, string, number?]
    if (ok === 1 || why === 'spent') {
      lastSeen.set(org, { count: ok === 1 ? Number(count) : limits.requestsPerMinute, at: Date.now() })
    }
    if (ok === 1) return { ok: true }
    const reason = why as BudgetRefusal
    const limit = reason === 'busy' ? limits.maxConcurrency : limits.requestsPerMinute
    return { ok: false, retryAfterMs: wait, reason, limit }
  }
  return {
    async acquire(org) {
      const id = randomUUID()
      const degraded = async () => {
        const release = await local.acquire(org)
        record(org, id)
        return release
      }
      if (!link.up) return degraded()
      try {
        await acquireWith(
          org,
          limits,
          () => check(org, id),
          (ms) => sleep(ms),
        )
      } catch (err) {
        if (isProblem(err)) throw err
        link.failed(err)
        return degraded()
      }
      record(org, id)
      return () => {
        link.client.zrem(budgetKeys(org)[1] as string, id).catch(() => {
          // The lease expires by itself.
        })
      }
    },
    async pause(org, seconds) {
      await local.pause(org, seconds)
      if (!link.up) return
      await link.client.eval(PAUSE, 1, budgetKeys(org)[2] as string, seconds * 1000).catch((err) => link.failed(err))
    },
  }
}
