// createBatchedStore copied from /work/main/src/adapters/redis/rate-limit-store.ts (2026-11-25), types
// stripped, with viaRedis from src/adapters/redis/connection.ts and a stub RedisConnection around a real ioredis client.

const FLUSH_MS = 100
const MAX_KEYS = 10_000

const ADD = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return {total, ttl}
`

/** The RedisConnection the store needs: up, client, failed() (down for a second, as in connection.ts). */
export function stubLink(client) {
  let downUntil = 0
  return {
    client,
    get up() {
      return client.status === 'ready' && Date.now() >= downUntil
    },
    failed() {
      downUntil = Date.now() + 1000
    },
  }
}

async function viaRedis(link, primary, fallback) {
  if (link.up) {
    try {
      return await primary()
    } catch (err) {
      link.failed(err)
    }
  }
  return fallback()
}

export function createBatchedStore(link, prefix) {
  const counters = new Map()
  let flushScheduled = false

  async function flush() {
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
            const [total, ttl] = await link.client.eval(ADD, 1, prefix + key, sent, counter.timeWindow)
            counter.shared = total
            counter.windowEnds = Date.now() + ttl
          } catch (err) {
            counter.pending += sent
            throw err
          }
        }
      },
      async () => {},
    )
  }

  return class BatchedRedisStore {
    incr(key, callback, timeWindow) {
      const now = Date.now()
      let counter = counters.get(key)
      if (!counter || counter.windowEnds <= now) {
        counter = { shared: 0, pending: 0, windowEnds: now + timeWindow, timeWindow }
        counters.delete(key)
        counters.set(key, counter)
        if (counters.size > MAX_KEYS) counters.delete(counters.keys().next().value)
      }
      counter.pending++
      if (!flushScheduled) {
        flushScheduled = true
        setTimeout(() => void flush(), FLUSH_MS).unref()
      }
      callback(null, { current: counter.shared + counter.pending, ttl: counter.windowEnds - now })
    }

    read(key, callback) {
      const counter = counters.get(key)
      const now = Date.now()
      if (!counter || counter.windowEnds <= now) callback(null, { current: 0, ttl: 0 })
      else callback(null, { current: counter.shared + counter.pending, ttl: counter.windowEnds - now })
    }

    child() {
      return this
    }
  }
}
