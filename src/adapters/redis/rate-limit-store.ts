import { type RedisConnection, viaRedis } from './connection.js'

/**
 * A store for @fastify/rate-limit that counts in-process and adds the counts to a shared Redis
 * counter every FLUSH_MS, instead of a Redis round trip per request. Each instance knows the
 * total of all instances as of its last flush plus its own requests since: the limit holds
 * across instances to within what they serve in one flush interval. Without Redis (or while it
 * is down) each instance counts on its own.
 * Why not the plugin's own Redis store: ../../../docs/decisions/004-rate-limit-store.md
 */

const FLUSH_MS = 100
const MAX_KEYS = 10_000

/** Adds ARGV[1] to the counter, starting its window on the first add; returns total and ms left. */
const ADD = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return {total, ttl}
`

interface Counter {
  /** All instances' requests in the window, as of the last flush (ours included). */
  shared: number
  /** Our requests not yet added to the shared counter. */
  pending: number
  windowEnds: number
  timeWindow: number
}

type Callback = (err: Error | null, result: { current: number; ttl: number }) => void

export function createBatchedStore(link: RedisConnection | undefined, prefix: string) {
  const counters = new Map<string, Counter>()
  let flushScheduled = false

  async function flush(): Promise<void> {
    flushScheduled = false
    if (!link) return
    await viaRedis(
      link,
      async () => {
        for (const [key, counter] of counters) {
          if (counter.pending === 0) continue
          const sent = counter.pending
          counter.pending = 0
          try {
            const [total, ttl] = (await link.client.eval(ADD, 1, prefix + key, sent, counter.timeWindow)) as [number, number]
            counter.shared = total
            counter.windowEnds = Date.now() + ttl
          } catch (err) {
            counter.pending += sent
            throw err
          }
        }
      },
      // Counted here until Redis is back; the next flush adds what is pending.
      async () => {},
    )
  }

  return class BatchedRedisStore {
    incr(key: string, callback: Callback, timeWindow: number) {
      const now = Date.now()
      let counter = counters.get(key)
      if (!counter || counter.windowEnds <= now) {
        counter = { shared: 0, pending: 0, windowEnds: now + timeWindow, timeWindow }
        counters.delete(key)
        counters.set(key, counter)
        if (counters.size > MAX_KEYS) counters.delete(counters.keys().next().value as string)
      }
      counter.pending++
      if (!flushScheduled) {
        flushScheduled = true
        setTimeout(() => void flush(), FLUSH_MS).unref()
      }
      callback(null, { current: counter.shared + counter.pending, ttl: counter.windowEnds - now })
    }

    child() {
      return this
    }
  }
}
