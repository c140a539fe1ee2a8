import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { Cluster, type ClusterOptions, Redis, type RedisOptions, ReplyError } from 'ioredis'
import type { RedisTarget } from '../../config.js'
import { isProblem } from '../../errors.js'

/** One server, a master found through Sentinel, or a Cluster: the commands creditgate uses are the same. */
export type RedisClient = Redis | Cluster

/**
 * The Redis connection creditgate shares between its cache, Zoho budget, token and locks, and
 * whether it is usable. Redis failing must never fail a request: commands fail fast (no offline
 * queue, a short command timeout) and every user of Redis falls back to an in-process twin while
 * `up` is false, returning to Redis when it is back.
 */
export interface RedisLink {
  readonly client: RedisClient
  /** True while Redis answers. A failed command takes it down for a second, then Redis is tried again. */
  readonly up: boolean
  /** Reports a failed command: the link goes down, and its users fall back. */
  failed(err: unknown): void
  /** Redis answers but refuses writes (out of memory, `maxmemory` reached), as seen in the last 10 s. */
  readonly full: boolean
  /** Publishes an event to every instance. */
  publish(event: RedisEvent): Promise<void>
  /** Listens to events from every instance (this one included). */
  onEvent(listener: (event: RedisEvent) => void): () => void
  /**
   * Listens to up/down changes. On the way up, `up` turns true only once every listener's
   * promise has settled: work that must happen before Redis is used again (adding back the Zoho
   * calls made meanwhile, replaying purges) is done before anyone relies on Redis.
   */
  onChange(listener: (up: boolean) => void | Promise<void>): void
  /** Live instances sharing this Redis, as last seen (1 until seen): degraded budgets split by it. */
  readonly instances: number
  /** Whether `instances` was ever read from Redis (false: this instance has not reached Redis since it started). */
  readonly instancesKnown: boolean
  /** Runs a task now and after every heartbeat while Redis is reachable (views of shared state kept fresh). */
  onBeat(task: () => Promise<void>): void
  /** When Redis was last found to have lost its data (restarted empty), or 0. */
  readonly dataLostAt: number
  /**
   * Whether events from other instances reach this one now, and a counter that moves each time
   * they may have been missed (the subscriber lost its connection). Copies kept on the strength
   * of events are trusted only within one epoch.
   */
  readonly eventsLive: boolean
  readonly eventsEpoch: number
  /** When events were last possibly missed (the subscriber lost its connection), or 0. */
  readonly eventsLostAt: number
  close(): Promise<void>
}

/** What instances tell each other. */
export type RedisEvent =
  | { type: 'flight_done'; key: string }
  | { type: 'zoho_call'; org: string; id: string; at: number }
  | { type: 'invalidated'; org: string; contactId: string }
  | { type: 'receivables'; org: string }
  | { type: 'payments'; org: string }

export const EVENTS_CHANNEL = 'creditgate:v1:events'

/** Deletes the key only if it still holds this value (a lock we own, a token we saw rejected). */
export const DELETE_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/**
 * Takes the lock `key` for `ms` under a holder id of its own: its release deletes the key only while
 * it still holds it. Undefined when someone else holds it.
 */
export async function takeLock(client: RedisClient, key: string, ms: number): Promise<(() => Promise<void>) | undefined> {
  const me = randomUUID()
  if ((await client.set(key, me, 'PX', ms, 'NX')) !== 'OK') return undefined
  return async () => {
    await client.eval(DELETE_IF, 1, key, me).catch(() => {})
  }
}

/** A command that takes longer is a failure: callers would rather use their fallback. */
export const COMMAND_TIMEOUT_MS = 500
const DOWN_AFTER_FAILURE_MS = 1000
export const HEARTBEAT_MS = 2000
const INSTANCES_KEY = 'creditgate:v1:instances'
/** Written once; if it is gone after a reconnect, Redis restarted without its data. */
const EPOCH_KEY = 'creditgate:v1:epoch'

/** Marks this instance alive and counts the live ones. */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
`

const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000) + Math.floor(Math.random() * 100)

/**
 * A client for the target. Commands fail fast (`offline`: false): no offline queue, no retry, a
 * short timeout. The subscriber (`offline`: true) queues its SUBSCRIBE until connected and
 * resubscribes after a reconnect or a failover.
 */
export function createRedisClient(target: RedisTarget, offline: boolean): RedisClient {
  const connection: RedisOptions = {
    maxRetriesPerRequest: offline ? null : 0,
    autoResendUnfulfilledCommands: false,
    ...(offline ? {} : { commandTimeout: COMMAND_TIMEOUT_MS }),
    connectTimeout: 2000,
  }
  if (target.mode === 'url') {
    return new Redis(target.url, { ...connection, enableAutoPipelining: true, enableOfflineQueue: offline, retryStrategy })
  }
  const auth = { username: target.username, password: target.password, ...(target.tls ? { tls: {} } : {}) }
  if (target.mode === 'sentinel') {
    return new Redis({
      ...connection,
      ...auth,
      enableAutoPipelining: true,
      enableOfflineQueue: offline,
      retryStrategy,
      sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
      name: target.name,
      sentinelUsername: target.username,
      sentinelPassword: target.password,
      ...(target.tls ? { sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
      sentinelRetryStrategy: retryStrategy,
      // Told of a failover by the Sentinels themselves, not only by the old master dropping us.
      failoverDetector: true,
    })
  }
  const options: ClusterOptions = {
    // Not pipelined: a pipeline to a node whose slots moved mid-failover fails with MOVED where a
    // single command is redirected (measured: test/redis-topologies.test.ts).
    enableAutoPipelining: false,
    enableOfflineQueue: offline,
    clusterRetryStrategy: retryStrategy,
    // A moved slot or a failover in progress: ask again soon, within the command timeout.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 1000,
    redisOptions: { ...connection, ...auth },
  }
  return new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    options,
  )
}

/**
 * The connection events arrive on. For a Cluster, the node connection ioredis's cluster subscriber
 * listens on now (not in ioredis's typed API: read defensively; none until it has subscribed).
 */
function listeningConnection(subscriber: RedisClient): () => Redis | undefined {
  if (!(subscriber instanceof Cluster)) return () => subscriber
  const inner = subscriber as unknown as { subscriber?: { getInstance?: () => Redis | undefined } }
  return () => {
    const connection = inner.subscriber?.getInstance?.()
    return connection instanceof Redis ? connection : undefined
  }
}

/** Where Redis is, for logs: never a password. */
export function describeRedis(target: RedisTarget): string {
  if (target.mode === 'url') return redactRedisUrl(target.url)
  const nodes = (target.mode === 'sentinel' ? target.sentinels : target.nodes).map(({ host, port }) => `${host}:${port}`).join(',')
  return target.mode === 'sentinel' ? `sentinel ${target.name} at ${nodes}` : `cluster at ${nodes}`
}

export async function connectRedis(where: RedisTarget | string, log: FastifyBaseLogger): Promise<RedisLink> {
  const target: RedisTarget = typeof where === 'string' ? { mode: 'url', url: where } : where
  const client = createRedisClient(target, false)
  const subscriber = createRedisClient(target, true)
  const listeners = new Set<(event: RedisEvent) => void>()
  const changeListeners = new Set<(up: boolean) => void | Promise<void>>()
  let downUntil = 0
  let wasUp = false
  /** Redis is back and the listeners have finished what must happen before it is used. */
  let resynced = false
  /** Moves on every up/down change, so that a resync overtaken by a newer change does nothing. */
  let generation = 0
  let instances = 1
  let instancesKnown = false
  const beatTasks = new Set<() => Promise<void>>()
  let epoch: string | undefined
  let dataLostAt = 0
  let fullAt = 0
  let eventsEpoch = 0
  let eventsLostAt = 0
  const eventsLost = () => {
    eventsEpoch++
    eventsLostAt = Date.now()
  }
  const listening = listeningConnection(subscriber)
  let watched: Redis | undefined
  const watchListening = () => {
    const now = listening()
    if (now && now !== watched && subscriber instanceof Cluster) {
      watched = now
      now.on('close', eventsLost)
    }
  }
  // A Cluster's subscriber is not one connection: ioredis listens on a node it picks, and picks
  // another when that one goes. Every connection it listens on is watched for its close.
  const watchTimer = subscriber instanceof Cluster ? setInterval(watchListening, 100) : undefined
  watchTimer?.unref()
  if (!(subscriber instanceof Cluster)) subscriber.on('close', eventsLost)
  const instanceId = randomUUID()
  const checkEpoch = async () => {
    try {
      await client.set(EPOCH_KEY, randomUUID(), 'NX')
      const now = (await client.get(EPOCH_KEY)) ?? undefined
      if (epoch !== undefined && now !== epoch) {
        dataLostAt = Date.now()
        log.warn('redis came back without its data: refilling it from this instance')
      }
      epoch = now
    } catch (err) {
      link.failed(err)
    }
  }
  const heartbeat = async () => {
    if (!connected()) return
    try {
      instances = Math.max(1, Number(await client.eval(HEARTBEAT, 1, INSTANCES_KEY, instanceId, HEARTBEAT_MS * 3)))
      instancesKnown = true
      await Promise.all([...beatTasks].map((task) => task()))
    } catch (err) {
      link.failed(err)
    }
  }
  const beat = setInterval(() => void heartbeat(), HEARTBEAT_MS)
  beat.unref()

  const connected = () => client.status === 'ready' && Date.now() >= downUntil
  const isUp = () => resynced && connected()
  /** The latest up/down change being worked through; awaiting notify() awaits it. */
  let transition: Promise<void> = Promise.resolve()
  const notify = (): Promise<void> => {
    const up = connected()
    if (up === wasUp) return transition
    wasUp = up
    const mine = ++generation
    if (!up) {
      resynced = false
      log.warn('redis unreachable: degraded to the in-process cache, budget and token')
      for (const listener of changeListeners) void listener(false)
      transition = Promise.resolve()
      return transition
    }
    transition = (async () => {
      await checkEpoch()
      await Promise.allSettled([...changeListeners].map(async (listener) => listener(true)))
      // Still connected after all that: Redis is in use again.
      if (mine === generation && connected()) {
        resynced = true
        log.info('redis reachable: using the shared cache, budget and token')
      }
    })()
    return transition
  }
  client.on('ready', () => void notify())
  client.on('close', () => void notify())
  client.on('error', (err) => log.debug({ err }, 'redis connection error'))
  subscriber.on('error', (err) => log.debug({ err }, 'redis subscriber error'))
  subscriber.on('message', (_channel: string, message: string) => {
    let event: RedisEvent
    try {
      event = JSON.parse(message) as RedisEvent
    } catch {
      return
    }
    for (const listener of listeners) listener(event)
  })
  const subscribed = subscriber.subscribe(EVENTS_CHANNEL).catch((err) => log.warn({ err }, 'redis subscribe failed'))

  // Give Redis a moment at start (and the subscription, so that the first look at shared state
  // is followed by its events); without it the service starts degraded and recovers later.
  const ready = client.status === 'ready' ? Promise.resolve() : once(client, 'ready')
  await Promise.race([Promise.all([ready, subscribed]), new Promise((r) => setTimeout(r, 2000).unref())]).catch(() => {})
  await notify()
  if (wasUp) await heartbeat()
  if (!wasUp) log.warn({ redis: describeRedis(target) }, 'redis not reachable at start: serving degraded until it is')

  const link: RedisLink = {
    client,
    get up() {
      return isUp()
    },
    get instances() {
      return instances
    },
    get instancesKnown() {
      return instancesKnown
    },
    onBeat(task) {
      beatTasks.add(task)
      if (connected()) task().catch((err) => link.failed(err))
    },
    get dataLostAt() {
      return dataLostAt
    },
    get eventsLive() {
      watchListening()
      return listening()?.status === 'ready'
    },
    get eventsEpoch() {
      return eventsEpoch
    },
    get eventsLostAt() {
      return eventsLostAt
    },
    get full() {
      return Date.now() - fullAt < 10_000
    },
    failed(err) {
      const message = (err as Error).message ?? ''
      if (message.startsWith('OOM')) fullAt = Date.now()
      log.warn({ err: { message } }, 'redis command failed')
      downUntil = Date.now() + DOWN_AFTER_FAILURE_MS
      void notify()
      // Come back up after the pause if the connection is still ready.
      setTimeout(() => void notify(), DOWN_AFTER_FAILURE_MS + 10).unref()
    },
    async publish(event) {
      if (!connected()) return
      try {
        await client.publish(EVENTS_CHANNEL, JSON.stringify(event))
      } catch (err) {
        link.failed(err)
      }
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    onChange(listener) {
      changeListeners.add(listener)
    },
    async close() {
      clearInterval(beat)
      clearInterval(watchTimer)
      await client.zrem(INSTANCES_KEY, instanceId).catch(() => {})
      await client.quit().catch(() => {})
      // Also closes what quit leaves open (the Sentinel connections watching for a failover). The
      // subscriber just goes: a QUIT queued while Redis is away would wait for it.
      client.disconnect()
      subscriber.disconnect()
    },
  }
  return link
}

/** redis://user:password@host → redis://user:***@host */
export const redactRedisUrl = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')

/**
 * Replies in which Redis says it cannot serve now — out of memory, loading its data, a replica,
 * a failover or a script under way, credentials refused — rather than that the command is wrong.
 */
const UNAVAILABLE_REPLY =
  /^(OOM|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF|NOAUTH|NOPERM|WRONGPASS|NOSCRIPT)\b/

/**
 * Redis answered, refusing the command itself (an invalid stream id, a key of another type, a
 * script's error): a fault of this request, not of Redis. Taking it for an outage would drop
 * every instance's shared state for a second on one bad request.
 */
export const isCommandError = (err: unknown): boolean => err instanceof ReplyError && !UNAVAILABLE_REPLY.test((err as Error).message ?? '')

/**
 * The one fallback strategy every shared store uses: the Redis operation while the link is up;
 * else, or when it fails, the in-process fallback, and the link goes down for a moment. A
 * Problem (a refusal such as "the budget is spent") is an answer, not a Redis failure: it passes,
 * and so does a reply refusing the command (isCommandError), which fails the request it came from.
 * The single place where "Redis failing is never a 5xx" is decided.
 */
export async function viaRedis<T>(link: RedisLink, primary: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
  if (link.up) {
    try {
      return await primary()
    } catch (err) {
      if (isProblem(err) || isCommandError(err)) throw err
      link.failed(err)
    }
  }
  return fallback()
}
