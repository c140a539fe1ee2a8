import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createLocalCache } from '../adapters/local/cache.js'
import { createLocalReceivables } from '../adapters/local/receivables.js'
import { createRedisCache } from '../adapters/redis/cache.js'
import { connectRedis } from '../adapters/redis/link.js'
import { createRedisReceivables } from '../adapters/redis/receivables.js'
import { parseContact } from '../domain/contact.js'
import { listedInvoice, SANDBOX_ORGANIZATION_ID as ORG } from '../sandbox/contacts.js'
import { zohoContact } from '../sandbox/example-contact.js'
import { createSandbox } from '../sandbox/sandbox.js'
import type { StoredCustomer } from '../services/receivables-ports.js'
import { fillRedisHistory } from './history-fill.js'

/**
 * npm run scale — how Redis and the service's memory grow with customers, decisions and invoices:
 *   1. Redis bytes per cached contact, per recorded decision and per open invoice of a receivables
 *      snapshot, written by the service's own adapters, at each of SCALE_SIZES (default 1,000,
 *      10,000, 100,000).
 *   2. The built service (dist/server.js, with Redis) answering one decision for each of 100,000
 *      distinct cached contacts: its resident memory and Redis's after 1,000, 10,000 and 100,000.
 *   3. An organization with SCALE_INVOICES open invoices (default 1,000, 10,000, 40,000; 40,000 is
 *      the most creditgate lists, 200 pages): the Zoho calls and time of its receivables refresh
 *      under the default budget, and the service's memory after it.
 */
const SIZES = (process.env.SCALE_SIZES ?? '1000,10000,100000').split(',').map(Number)
const INVOICES = (process.env.SCALE_INVOICES ?? '1000,10000,40000').split(',').map(Number)
const KEY = 'scale-key-0123456789abcdef'
const silent = pino({ level: 'silent' })
const children: ChildProcess[] = []
const out = (line = '') => process.stdout.write(`${line}\n`)
const mib = (bytes: number) => (bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`)

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const idOf = (i: number) => `4600001${String(i).padStart(8, '0')}`

/** Redis's own count of the bytes it holds, after its allocator gave back what it could. */
async function usedMemory(redis: Redis): Promise<number> {
  await redis.call('MEMORY', 'PURGE')
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1])
}

/** The service's resident memory (Linux). */
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024

async function startService(env: Record<string, string>): Promise<{ base: string; pid: number }> {
  const child = spawn(process.execPath, ['dist/server.js'], {
    env: {
      ...process.env,
      ...env,
      PORT: '0',
      LOG_LEVEL: 'info',
      API_KEYS: `shop:${KEY}`,
      RATE_LIMIT_PER_MINUTE: '0',
      NODE_ENV: 'development',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk
  })
  const base = await poll('the service to listen', async () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], 30_000)
  return { base, pid: child.pid as number }
}

function stop(child: ChildProcess | undefined) {
  child?.kill('SIGKILL')
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 })
/** GET with the caller key; resolves with the status. */
function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { agent, headers: { authorization: `Bearer ${KEY}` } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
      .on('error', reject)
      .end()
  })
}

async function decideEach(base: string, from: number, to: number): Promise<void> {
  let next = from
  const failed: number[] = []
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < to) {
        const status = await get(`${base}/contacts/${idOf(next++)}/risk`)
        if (status !== 200) failed.push(status)
      }
    }),
  )
  if (failed.length > 0) throw new Error(`${failed.length} decisions failed (${failed.slice(0, 5).join(', ')})`)
}

async function main() {
  const port = await freePort()
  const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  children.push(server)
  const url = `redis://127.0.0.1:${port}`
  const redis = new Redis(url)
  redis.on('error', () => {}) // until redis-server listens; poll() says if it never does
  await poll('redis-server', async () => ((await redis.ping()) === 'PONG' ? true : undefined), 10_000)
  const link = await connectRedis(url, silent)
  const cache = createRedisCache(link, createLocalCache(), silent, { freshSeconds: 3600, staleSeconds: () => 86_400 })
  const receivables = createRedisReceivables(link, createLocalReceivables())
  const contact = (i: number) => {
    const parsed = parseContact(zohoContact(idOf(i), `Customer ${i}`, { outstanding_receivable_amount_bcy: 1000 + i }))
    if (!parsed.ok) throw new Error(parsed.problem)
    return parsed.contact
  }
  const fillContacts = async (from: number, to: number) => {
    const fetched_at = new Date().toISOString()
    for (let i = from; i < to; i += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, to - i) }, (_, j) =>
          cache.set(ORG, idOf(i + j), { fetched_at, contact: contact(i + j) }, 3600),
        ),
      )
    }
  }
  const snapshotOf = (n: number) => {
    const customers = new Map<string, StoredCustomer>()
    for (let i = 0; i < n; i++) {
      const id = idOf(Math.floor(i / 10))
      const customer = customers.get(id) ?? { invoices: [], open_orders_bcy: 0 }
      customers.set(id, { ...customer, invoices: [...customer.invoices, { due_date: '2026-12-01', balance_bcy: 100 + i }] })
    }
    return { as_of: Date.now(), customers }
  }

  out('## Redis bytes per item (the service adapters, `npm run scale`)')
  out()
  out('| items | per cached contact | per recorded decision | per open invoice (10 per customer) |')
  out('|---:|---:|---:|---:|')
  for (const n of SIZES) {
    const per = async (fill: () => Promise<void>) => {
      await redis.flushall()
      const before = await usedMemory(redis)
      await fill()
      return Math.round(((await usedMemory(redis)) - before) / n)
    }
    const contacts = await per(() => fillContacts(0, n))
    const decisions = await per(() => fillRedisHistory(url, ORG, n))
    const invoices = await per(() => receivables.replace(ORG, snapshotOf(n)))
    out(`| ${n.toLocaleString('en')} | ${contacts} B | ${decisions} B | ${invoices} B |`)
  }
  await link.close()

  out()
  out('## The service with Redis: one cached decision for each of N customers')
  out()
  out('| customers decided | service RSS | Redis used memory (all contacts cached beforehand) |')
  out('|---:|---:|---:|')
  const most = Math.max(...SIZES)
  await redis.flushall()
  const sandbox = createSandbox()
  await sandbox.listen(0)
  const contactsLink = await connectRedis(url, silent)
  const filler = createRedisCache(contactsLink, createLocalCache(), silent, { freshSeconds: 3600, staleSeconds: () => 86_400 })
  const fetched_at = new Date().toISOString()
  for (let i = 0; i < most; i += 1000)
    await Promise.all(
      Array.from({ length: Math.min(1000, most - i) }, (_, j) =>
        filler.set(ORG, idOf(i + j), { fetched_at, contact: contact(i + j) }, 3600),
      ),
    )
  await contactsLink.close()
  const service = await startService({ ...sandbox.creditgateEnv, REDIS_URL: url, CONTACT_CACHE_TTL_SECONDS: '3600' })
  await decideEach(service.base, 0, 1)
  out(`| 1 (started) | ${mib(rssOf(service.pid))} | ${mib(await usedMemory(redis))} |`)
  let done = 1
  for (const n of SIZES) {
    await decideEach(service.base, done, n)
    done = n
    out(`| ${n.toLocaleString('en')} | ${mib(rssOf(service.pid))} | ${mib(await usedMemory(redis))} |`)
  }
  stop(children.pop())
  await sandbox.close()

  out()
  out('## An organization with N open invoices: its receivables refresh (default budget, 90 calls a minute)')
  out()
  out('| open invoices | Zoho listing calls | refresh time | service RSS after | Redis snapshot |')
  out('|---:|---:|---:|---:|---:|')
  for (const n of INVOICES) {
    const now = Date.now()
    const invoices = Array.from({ length: n }, (_, i) =>
      listedInvoice(
        `46000009${String(i).padStart(8, '0')}`,
        i === 0 ? '460000000031001' : idOf(Math.floor(i / 10)),
        { dueInDays: (i % 60) - 30, balance: 100 + (i % 900) },
        now,
      ),
    )
    const big = createSandbox({ documents: new Map([[ORG, { invoices, salesorders: [] }]]) })
    await big.listen(0)
    await redis.flushall()
    const before = await usedMemory(redis)
    const started = Date.now()
    const { base, pid } = await startService({ ...big.creditgateEnv, REDIS_URL: url })
    await get(`${base}/contacts/460000000031001/risk`)
    await poll(
      'the receivables refresh',
      async () => {
        const metrics = await (await fetch(`${base}/metrics`)).text()
        return /creditgate_receivables_refreshes_total\{kind="organization",result="ok"\} [1-9]/.test(metrics) ? true : undefined
      },
      15 * 60_000,
    )
    const seconds = (Date.now() - started) / 1000
    out(
      `| ${n.toLocaleString('en')} | ${big.stats.listCalls} | ${seconds.toFixed(1)} s | ${mib(rssOf(pid))} | ${mib((await usedMemory(redis)) - before)} |`,
    )
    stop(children.pop())
    await big.close()
  }
  redis.disconnect()
}

try {
  await main()
} finally {
  agent.destroy()
  for (const child of children) child.kill('SIGKILL')
}
