// 004, Redis down: what does one instance answer to 30 requests of one key with a limit of 10?
//   node exp4-outage.mjs
import Fastify from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import { createBatchedStore, stubLink } from './batched-store.mjs'
import { sleep, startRedis, stopRedis } from './lib.mjs'

const PORT = 16395
const redisOptions = { enableAutoPipelining: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 }

async function statuses(label, options) {
  const app = Fastify({ logger: false })
  await app.register(rateLimit, { max: 10, timeWindow: 60_000, ...options })
  app.get('/', async () => ({ ok: true }))
  const counts = {}
  const started = Date.now()
  for (let i = 0; i < 30; i++) {
    const r = await app.inject({ url: '/' })
    counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1
  }
  console.log(`  ${label}: ${JSON.stringify(counts)} in ${Date.now() - started} ms`)
  await app.close()
}

await startRedis(PORT)
const client = new Redis({ port: PORT, ...redisOptions, retryStrategy: () => 1000 })
client.on('error', () => {})
await new Promise((r) => client.once('ready', r))
stopRedis(PORT)
await sleep(200)
console.log('Redis stopped; limit 10 per minute; 30 requests of one key to one instance:')
await statuses('@fastify/rate-limit Redis store', { redis: client, nameSpace: 'a:' })
await statuses('@fastify/rate-limit Redis store, skipOnError: true', { redis: client, nameSpace: 'b:', skipOnError: true })
await statuses("creditgate's batched store", { store: createBatchedStore(stubLink(client), 'c:') })
client.disconnect()
