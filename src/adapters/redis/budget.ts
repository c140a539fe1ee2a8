import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { acquireWith, type BudgetLimits, createLocalBudget, limitsOf, type Share, WINDOW_MS } from '../local/budget.js'
import type { BudgetRefusal, BudgetVerdict, ZohoBudget } from '../zoho/ports.js'
import { type RedisConnection, viaRedis } from './connection.js'
import { EVENTS_CHANNEL, type RedisEvents } from './events.js'
import { HEARTBEAT_MS, type RedisPresence } from './presence.js'

/**
 * Checks and takes a slot in one step, so that instances racing for the last call of the minute
 * cannot both win. KEYS: calls (sliding minute), in-flight leases, pause. Redis's clock decides.
 * Every call taken is announced to every instance (a zoho_call event): each keeps its own view
 * of the shared minute, which it needs if Redis goes away.
 * Why a sliding window of our own, not a library's fixed one: ../../../docs/decisions/001-zoho-budget-sliding-window.md
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
redis.call('PUBLISH', ARGV[6], '{"type":"zoho_call","org":"' .. ARGV[7] .. '","id":"' .. ARGV[4] .. '","at":' .. string.format('%.0f', now) .. '}')
return {1, 0, 'ok'}
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

/** Without a view of Redis at all, an instance cannot know how many share the budget: it takes this part. */
export const UNKNOWN_SHARE = 10

/** What an instance knows of an organization's shared minute when Redis is not there to ask. */
export interface BudgetView {
  /** Live instances as last seen; undefined when this instance has not reached Redis since it started. */
  readonly instances: number | undefined
  /** When Redis went away, and whether this instance's view was fresh then. */
  readonly outage: { readonly at: number; readonly fresh: boolean }
  /** The known calls of the shared minute, oldest first (this instance's own degraded calls are counted apart). */
  readonly spent: readonly number[]
  readonly now: number
}

/**
 * This instance's part of the budget while Redis is down. Each of N instances may make
 * ⌊(B − S) / N⌋ calls in any minute, S being the calls known to be in it: together at most B.
 * An instance whose view was stale when Redis went away counts the minute as spent until a
 * minute has passed; one that never saw Redis, not knowing N, takes ⌊B / 10⌋ (at least 1).
 */
export function degradedShare(limits: Pick<BudgetLimits, 'requestsPerMinute' | 'maxConcurrency'>, view: BudgetView): Share {
  const instances = view.instances ?? UNKNOWN_SHARE
  const concurrency = Math.max(1, Math.floor(limits.maxConcurrency / instances))
  if (view.instances === undefined) return { perMinute: Math.max(1, Math.floor(limits.requestsPerMinute / UNKNOWN_SHARE)), concurrency }
  if (!view.outage.fresh && view.now < view.outage.at + WINDOW_MS) return { perMinute: 0, concurrency, freesAt: view.outage.at + WINDOW_MS }
  const oldest = view.spent[0]
  return {
    perMinute: Math.max(0, Math.floor((limits.requestsPerMinute - view.spent.length) / instances)),
    concurrency,
    freesAt: oldest === undefined ? undefined : oldest + WINDOW_MS,
  }
}

/** An instance's last re-read of the shared minutes: when, and whether events were arriving then. */
export interface ViewSync {
  readonly at: number
  readonly live: boolean
}

/**
 * Whether an instance's view of the shared minutes is fresh at `now`: re-read within the last
 * three heartbeats with events arriving, and no event missed since (`eventsLostAt`) but as part
 * of the outage itself (the subscription drops with Redis).
 */
export function viewFresh(sync: ViewSync, eventsLostAt: number, now: number): boolean {
  return sync.live && now - sync.at < 3 * HEARTBEAT_MS && (eventsLostAt <= sync.at || now - eventsLostAt < HEARTBEAT_MS)
}

/** Calls by id → when, pruned to the sliding minute (as calls are added, so it never grows past a minute's worth). */
class Calls {
  private readonly byId = new Map<string, number>()
  add(id: string, at: number) {
    this.byId.set(id, at)
    for (const [old, when] of this.byId) if (when <= at - WINDOW_MS) this.byId.delete(old)
  }
  /** The calls still inside the minute ending now (older ones are forgotten), oldest first. */
  recent(now: number): number[] {
    const times: number[] = []
    for (const [id, at] of this.byId) {
      if (at <= now - WINDOW_MS) this.byId.delete(id)
      else times.push(at)
    }
    return times.sort((a, b) => a - b)
  }
  entries() {
    return this.byId.entries()
  }
}

/**
 * The per-organization Zoho budget shared by every instance, through Redis.
 *
 * While Redis is down, each instance falls back to an in-process budget and takes a share that
 * keeps all of them inside the budget together: with N instances and S calls of the shared
 * minute known to be spent, each may make ⌊(B − S) / N⌋ calls in any minute, and more as the
 * known calls age out of it. Every instance knows S — idle ones too — because every call taken
 * in Redis is announced to all of them, and each re-reads the shared minutes on every heartbeat.
 * An instance whose view was not fresh when Redis went away assumes the minute is spent until
 * a minute has passed; one that has not reached Redis since it started takes ⌊B / 10⌋.
 * Back on Redis, each instance adds the calls it made meanwhile to the shared minute before
 * Redis is used again. `now` is this instance's clock (tests move it); Redis's decides in Redis.
 */
export function createRedisBudget(
  link: RedisConnection & RedisEvents & RedisPresence,
  limits: BudgetLimits,
  organizations: readonly string[],
  now: () => number = Date.now,
): ZohoBudget {
  const leaseMs = limits.waitMs + 5000
  const callsOf = (map: Map<string, Calls>, org: string) => {
    let calls = map.get(org)
    if (!calls) {
      calls = new Calls()
      map.set(org, calls)
    }
    return calls
  }
  /** Every call of each organization's shared minute this instance knows of (Redis's clock). */
  const known = new Map<string, Calls>()
  /** This instance's own calls of the last minute, whichever budget let them out. */
  const own = new Map<string, Calls>()
  let synced: ViewSync = { at: 0, live: false }
  /** When Redis went away, and whether this instance's view of the shared minutes was fresh then. */
  let outage = { at: 0, fresh: false }

  link.onEvent((event) => {
    if (event.type === 'zoho_call') callsOf(known, event.org).add(event.id, event.at)
  })
  // The events keep the view current; a re-read on every heartbeat makes it complete.
  link.onBeat(async () => {
    const live = link.eventsLive
    const read = await Promise.all(organizations.map((org) => link.client.zrange(budgetKeys(org)[0] as string, '0', '-1', 'WITHSCORES')))
    read.forEach((pairs, i) => {
      const calls = callsOf(known, organizations[i] as string)
      for (let j = 0; j < pairs.length; j += 2) calls.add(pairs[j] as string, Number(pairs[j + 1]))
    })
    synced = { at: now(), live }
  })
  link.onDown(() => {
    const at = now()
    // Events still arriving (a command failed, the connection did not) keep the view complete.
    outage = { at, fresh: link.eventsLive || viewFresh(synced, link.eventsLostAt, at) }
  })
  // Redis is not used again until the calls made meanwhile are in the shared minute (RedisConnection's protocol).
  link.beforeUp(async () => {
    for (const [org, calls] of own) {
      const recent = [...calls.entries()].filter(([, at]) => at > now() - WINDOW_MS)
      if (recent.length === 0) continue
      const key = budgetKeys(org)[0] as string
      await link.client
        .zadd(key, 'NX', ...recent.flatMap(([id, at]) => [at, id]))
        .then(() => link.client.pexpire(key, WINDOW_MS + 1000))
        .catch((err) => link.failed(err))
    }
  })

  const local = createLocalBudget(
    limits,
    (org, at) => {
      const instances = link.instancesKnown ? link.instances : undefined
      const own = limitsOf(limits, org)
      const part = degradedShare(own, { instances, outage, spent: callsOf(known, org).recent(at), now: at })
      // Each instance keeps its part of the reserve: together at least the reserve.
      return { ...part, reserve: Math.ceil((own.reserve ?? 0) / (instances ?? UNKNOWN_SHARE)) }
    },
    now,
  )
  const check = async (org: string, id: string, background: boolean): Promise<BudgetVerdict> => {
    // The same script for background calls, with the reserve taken off the minute's calls; each
    // organization with its own budget (ORGANIZATIONS_FILE), which the script takes as arguments.
    const own = limitsOf(limits, org)
    const perMinute = background ? Math.max(0, own.requestsPerMinute - (own.reserve ?? 0)) : own.requestsPerMinute
    const [ok, wait, why] = (await link.client.eval(
      ACQUIRE,
      3,
      ...budgetKeys(org),
      perMinute,
      own.maxConcurrency,
      leaseMs,
      id,
      WINDOW_MS,
      EVENTS_CHANNEL,
      org,
    )) as [number, number, string]
    if (ok === 1) return { ok: true }
    const reason = why as BudgetRefusal
    const limit = reason === 'busy' ? own.maxConcurrency : perMinute
    return { ok: false, retryAfterMs: wait, reason, limit }
  }
  return {
    async acquire(org, options) {
      const id = randomUUID()
      const release = await viaRedis(
        link,
        async () => {
          await acquireWith(org, limits, () => check(org, id, options?.background === true), sleep, now)
          return () => {
            link.client.zrem(budgetKeys(org)[1] as string, id).catch(() => {
              // The lease expires by itself.
            })
          }
        },
        () => local.acquire(org, options),
      )
      callsOf(own, org).add(id, now())
      return release
    },
    async pause(org, seconds) {
      await local.pause(org, seconds)
      await viaRedis(
        link,
        async () => {
          await link.client.eval(PAUSE, 1, budgetKeys(org)[2] as string, seconds * 1000)
        },
        async () => {},
      )
    },
    callsLastMinute(org) {
      // Every call taken in Redis is announced (known); this instance's own cover an outage.
      const at = now()
      return Math.max(callsOf(known, org).recent(at).length, callsOf(own, org).recent(at).length)
    },
    part: (org) => local.part(org),
  }
}
