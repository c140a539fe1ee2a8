// 004, the cost of batching: 3 instances (3 stores, each with its own Redis client, one Redis) share
// a per-key limit of MAX per minute. How many requests of one key are let through?
// Compared: creditgate's batched store (flush every 100 ms) and @fastify/rate-limit's RedisStore.
//
//   node exp4-overshoot.mjs
import { createRequire } from 'node:module'
import { Redis } from 'ioredis'
import { createBatchedStore, stubLink } from './batched-store.mjs'
import { median, sleep, startRedis, stopRedis } from './lib.mjs'

const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js')
const PORT = 16394
const N = 3
const MAX = 3000 // creditgate's default RATE_LIMIT_PER_MINUTE
const WINDOW = 60_000

let seq = 0
async function makeStores(kind) {
  const clients = Array.from({ length: N }, () => new Redis({ port: PORT, enableAutoPipelining: true }))
  await Promise.all(clients.map((c) => new Promise((r) => (c.status === 'ready' ? r() : c.once('ready', r)))))
  const prefix = `exp${++seq}:`
  const stores = clients.map((client) => {
    if (kind === 'batched') {
      const Store = createBatchedStore(stubLink(client), prefix)
      return new Store()
    }
    return new RedisStore(false, false, client, prefix)
  })
  return { stores, close: () => clients.forEach((c) => c.disconnect()) }
}

/** One request: allowed when the store's count is within MAX (as @fastify/rate-limit decides). */
const request = (store, counts) =>
  new Promise((resolve) =>
    store.incr(
      'caller',
      (err, res) => {
        if (!err && res.current <= MAX) counts.allowed++
        resolve()
      },
      WINDOW,
      MAX,
    ),
  )

/** Each instance gets `perMs` requests of the key per millisecond for `ms`. */
async function paced(kind, perMs, ms) {
  const { stores, close } = await makeStores(kind)
  const counts = { allowed: 0 }
  const pending = []
  const start = Date.now()
  let sent = 0
  while (Date.now() - start < ms) {
    const due = Math.floor((Date.now() - start) * perMs)
    for (; sent < due; sent++) for (const s of stores) pending.push(request(s, counts))
    await sleep(1)
  }
  await Promise.all(pending)
  await sleep(250) // let the last flush land
  close()
  return { allowed: counts.allowed, sent: sent * N }
}

/** Each instance gets `each` requests of the key in the same tick. */
async function burst(kind, each) {
  const { stores, close } = await makeStores(kind)
  const counts = { allowed: 0 }
  await Promise.all(stores.flatMap((s) => Array.from({ length: each }, () => request(s, counts))))
  await sleep(250)
  close()
  return { allowed: counts.allowed, sent: each * N }
}

await startRedis(PORT)
try {
  console.log(`${N} instances, limit ${MAX} per minute for one key:`)
  for (const [label, run] of [
    ['paced: 2 requests/ms per instance (6,000 req/s in all) for 1.5 s', (k) => paced(k, 2, 1500)],
    ['paced: 6 requests/ms per instance (18,000 req/s in all) for 1 s', (k) => paced(k, 6, 1000)],
    [`burst: ${MAX + 1000} requests per instance in one tick`, (k) => burst(k, MAX + 1000)],
  ]) {
    for (const kind of ['redis-store', 'batched']) {
      const runs = []
      for (let i = 0; i < 3; i++) runs.push(await run(kind))
      const allowed = median(runs.map((r) => r.allowed))
      console.log(
        `  ${label} | ${kind.padEnd(11)}: sent ${runs[0].sent}, allowed ${allowed} (runs ${runs.map((r) => r.allowed).join(', ')}) = ${(allowed / MAX).toFixed(2)} × limit`,
      )
    }
  }
} finally {
  stopRedis(PORT)
}
