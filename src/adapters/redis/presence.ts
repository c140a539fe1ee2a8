import { randomUUID } from 'node:crypto'
import type { RedisConnection } from './connection.js'

export const HEARTBEAT_MS = 2000
const INSTANCES_KEY = 'creditgate:v1:instances'

/** Marks this instance alive and counts the live ones. */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
`

/** The instances sharing this Redis, seen through a heartbeat every HEARTBEAT_MS. */
export interface RedisPresence {
  /** Live instances sharing this Redis, as last seen (1 until seen): degraded budgets split by it. */
  readonly instances: number
  /** Whether `instances` was ever read from Redis (false: this instance has not reached Redis since it started). */
  readonly instancesKnown: boolean
  /** Runs a task now and after every heartbeat while Redis is reachable (views of shared state kept fresh). */
  onBeat(task: () => Promise<void>): void
}

/** Starts the heartbeat. `beat()` beats once now; `stop()` ends it and takes this instance out of the count. */
export function startPresence(connection: Pick<RedisConnection, 'client' | 'reachable' | 'failed'>): {
  presence: RedisPresence
  beat(): Promise<void>
  stop(): Promise<void>
} {
  const { client } = connection
  const instanceId = randomUUID()
  const beatTasks = new Set<() => Promise<void>>()
  let instances = 1
  let instancesKnown = false
  const beat = async () => {
    if (!connection.reachable) return
    try {
      instances = Math.max(1, Number(await client.eval(HEARTBEAT, 1, INSTANCES_KEY, instanceId, HEARTBEAT_MS * 3)))
      instancesKnown = true
      await Promise.all([...beatTasks].map((task) => task()))
    } catch (err) {
      connection.failed(err)
    }
  }
  const timer = setInterval(() => void beat(), HEARTBEAT_MS)
  timer.unref()
  return {
    presence: {
      get instances() {
        return instances
      },
      get instancesKnown() {
        return instancesKnown
      },
      onBeat(task) {
        beatTasks.add(task)
        if (connection.reachable) task().catch((err) => connection.failed(err))
      },
    },
    beat,
    async stop() {
      clearInterval(timer)
      await client.zrem(INSTANCES_KEY, instanceId).catch(() => {})
    },
  }
}
