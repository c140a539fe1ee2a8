import { randomUUID } from 'node:crypto'
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import type { RedisTarget } from '../../config.js'

/** One server, a master found through Sentinel, or a Cluster: the commands creditgate uses are the same. */
export type RedisClient = Redis | Cluster

/** A command that takes longer is a failure: callers would rather use their fallback. */
export const COMMAND_TIMEOUT_MS = 500

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
    // single command is redirected (measured: test/system/redis-topologies.test.ts).
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

/** Where Redis is, for logs: never a password. */
export function describeRedis(target: RedisTarget): string {
  if (target.mode === 'url') return redactRedisUrl(target.url)
  const nodes = (target.mode === 'sentinel' ? target.sentinels : target.nodes).map(({ host, port }) => `${host}:${port}`).join(',')
  return target.mode === 'sentinel' ? `sentinel ${target.name} at ${nodes}` : `cluster at ${nodes}`
}

/** redis://user:password@host → redis://user:***@host */
export const redactRedisUrl = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')

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
