// A trivial fastify route returning a ~1 KB JSON body, in one of several variants.
//   node server.mjs <variant> <port> [redisPort]
// Prints "ready" on stdout when listening.
import Fastify from 'fastify'
import helmet from 'helmet'
import { Redis } from 'ioredis'
import { createBatchedStore, stubLink } from './batched-store.mjs'

const [variant, port, redisPort] = process.argv.slice(2)

const body = {
  decision: 'allow',
  contact_id: '460000000031001',
  organization_id: '10234695',
  reasons: [],
  alerts: [],
  facts: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`fact_number_${i}`, 12000 + i * 1.5])),
  rules_version: 'sha256:0f8c5d9a1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbcc',
  evaluated_at: '2026-11-25T10:00:00.000Z',
}

/** helmetHeaders, copied from /work/main/src/lib/security-headers.ts: helmet's headers worked out once. */
function helmetHeaders(options) {
  const headers = {}
  const response = {
    setHeader(name, value) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader() {},
  }
  helmet(options)({}, response, () => {})
  return headers
}

// creditgate's ioredis options (src/adapters/redis/client.ts).
const redisOptions = {
  enableAutoPipelining: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 500,
}

// As creditgate registers @fastify/rate-limit (src/plugins/access.ts), with a max nothing reaches.
const rateLimitOptions = {
  max: 1_000_000_000,
  timeWindow: 60_000,
  addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
}

const app = Fastify({ logger: false })

switch (variant) {
  case 'plain':
    break
  case 'precomputed': {
    const headers = helmetHeaders({})
    app.addHook('onRequest', (_req, reply, done) => {
      reply.headers(headers)
      done()
    })
    break
  }
  case 'fastify-helmet':
    await app.register((await import('@fastify/helmet')).default)
    break
  case 'rl-redis': {
    const client = new Redis({ port: Number(redisPort), ...redisOptions })
    await new Promise((r) => client.once('ready', r))
    await app.register((await import('@fastify/rate-limit')).default, { ...rateLimitOptions, redis: client })
    break
  }
  case 'rl-memory':
    await app.register((await import('@fastify/rate-limit')).default, rateLimitOptions)
    break
  case 'rl-batched': {
    const client = new Redis({ port: Number(redisPort), ...redisOptions })
    await new Promise((r) => client.once('ready', r))
    await app.register((await import('@fastify/rate-limit')).default, {
      ...rateLimitOptions,
      store: createBatchedStore(stubLink(client), 'exp:ratelimit:'),
    })
    break
  }
  default:
    throw new Error(`unknown variant ${variant}`)
}

app.get('/', async () => body)
await app.listen({ port: Number(port), host: '127.0.0.1' })
process.stdout.write('ready\n')
