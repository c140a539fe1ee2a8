// 002: async-cache-dedupe with its Redis storage, 3 caches (3 "instances") on one Redis, each
// receiving 20 concurrent requests for the same uncached key; the fetch counts calls and takes 100 ms.
//
//   node exp2-single-flight.mjs
import { Redis } from 'ioredis'
import { createCache } from 'async-cache-dedupe'
import { median, sleep, startRedis, stopRedis } from './lib.mjs'

const PORT = 16392
const INSTANCES = 3
const REQUESTS = 20

async function scenario(round, { fail = false, staggerMs = 0 } = {}) {
  const clients = Array.from({ length: INSTANCES }, () => new Redis({ port: PORT }))
  let fetches = 0
  let deduped = 0
  const caches = clients.map((client) => {
    const cache = createCache({
      ttl: 300,
      storage: { type: 'redis', options: { client } },
      onDedupe: () => deduped++,
    })
    cache.define('contact', async (id) => {
      fetches++
      await sleep(100)
      if (fail) throw new Error('zoho unavailable')
      return { id, name: 'Customer' }
    })
    return cache
  })
  const key = `contact-${round}-${fail}-${staggerMs}-${Math.random()}`
  const results = await Promise.allSettled(
    caches.flatMap((cache, i) =>
      Array.from({ length: REQUESTS }, async () => {
        await sleep(i * staggerMs)
        return cache.contact(key)
      }),
    ),
  )
  const ok = results.filter((r) => r.status === 'fulfilled').length
  // A second wave after the first finished: served from Redis (success) or fetched again (failure).
  const before = fetches
  const dedupedFirst = deduped
  await Promise.allSettled(caches.flatMap((cache) => Array.from({ length: REQUESTS }, () => cache.contact(key))))
  const secondWave = fetches - before
  for (const c of clients) c.disconnect()
  return { fetches: before, deduped: dedupedFirst, ok, secondWave }
}

await startRedis(PORT)
try {
  for (const [label, opts] of [
    ['same instant, fetch succeeds', {}],
    ['instance i starts i × 50 ms later (while the first fetch is in flight)', { staggerMs: 50 }],
    ['same instant, fetch fails', { fail: true }],
  ]) {
    const runs = []
    for (let round = 0; round < 3; round++) runs.push(await scenario(round, opts))
    console.log(
      `${label}: fetches ${median(runs.map((r) => r.fetches))} (runs ${runs.map((r) => r.fetches).join(', ')}), ` +
        `deduped in-process ${median(runs.map((r) => r.deduped))}, answered ok ${median(runs.map((r) => r.ok))}/${INSTANCES * REQUESTS}, ` +
        `a second wave right after fetches ${median(runs.map((r) => r.secondWave))} more`,
    )
  }
} finally {
  stopRedis(PORT)
}
