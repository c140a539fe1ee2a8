import { createHash, randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import t, { type Test } from 'tap'
import { createLocalTokens } from '../../src/adapters/local/tokens.js'
import { connectRedis } from '../../src/adapters/redis/link.js'
import { createSharedTokens } from '../../src/adapters/redis/tokens.js'
import { createTokenMinter } from '../../src/adapters/zoho/tokens.js'
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { eventually, logCapture, startSandbox } from '../helpers/app.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { FIVE_MINUTES_MS, HOUR_MS, problemOf, summary, T0 } from '../helpers/tokens.js'

/** The Zoho token shared through Redis by the instances: one mint, one lock, rejections and the mint limit across them. */

const silent = pino({ level: 'silent' })

// One redis-server for the shared-token tests that keep it running; each test uses its own
// credential, so its own keys.
const redis = await startRedis(t)
await redis.client.connect()

/** The token's keys in Redis, as README documents them: one hash tag naming the credential by hash. */
function keysFor(credentialId: string) {
  const tag = createHash('sha256').update(credentialId).digest('hex').slice(0, 16)
  const token = `creditgate:v1:zoho:{${tag}}:token`
  return { tag, token, lock: `${token}:lock`, mints: `${token}:mints` }
}

interface Clock {
  now: number
}

/** One creditgate instance's shared token (its own Redis connection), minting from the sandbox. */
async function instance(
  t: Test,
  sandbox: Sandbox,
  credentialId: string,
  options: { redisUrl?: string; clock?: Clock; log?: FastifyBaseLogger } = {},
) {
  const link = await connectRedis(options.redisUrl ?? redis.url, silent)
  t.teardown(() => link.close())
  const clock = options.clock
  const now = clock ? () => clock.now : Date.now
  const mint = createTokenMinter({ accountsUrl: sandbox.accountsUrl, credentials: SANDBOX_CREDENTIALS, timeoutMs: 2000, now })
  const tokens = createSharedTokens({
    link,
    mint,
    credentialId,
    local: createLocalTokens(mint, now),
    log: options.log ?? silent,
    now,
  })
  return { link, tokens }
}

/**
 * Every command Redis runs that names one of the keys, in order. Started before the instance
 * connects: ioredis mistakes a command that Redis reports together with MONITOR's OK for a reply.
 */
async function watchCommands(t: Test, keys: string[]) {
  const monitor = await redis.client.monitor()
  t.teardown(() => monitor.disconnect())
  const seen: string[][] = []
  let marks = 0
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0] === 'get' && args[1]?.startsWith('test:mark:')) marks++
    else if (args.some((arg) => keys.includes(arg))) seen.push(args)
  })
  /** Resolves once every command sent before it has been seen. */
  const settled = async () => {
    const before = marks
    await redis.client.get(`test:mark:${randomUUID()}`)
    await eventually(() => marks > before, 'the monitor to catch up')
  }
  return {
    seen,
    settled,
    /** Forgets what was seen so far (the test's own setup). */
    async restart() {
      await settled()
      seen.length = 0
    },
  }
}

const isLockAttempt = (args: string[], lockKey: string) => args[0] === 'set' && args[1] === lockKey && args.includes('NX')

t.test('the token shared through Redis', async (t) => {
  t.test('instances starting together mint one token and share it', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = randomUUID()
    const logs = logCapture()
    const log = pino({ level: 'info' }, logs.stream)
    const a = await instance(t, sandbox, credential, { log })
    const b = await instance(t, sandbox, credential, { log })
    const c = await instance(t, sandbox, credential, { log })
    const got = await Promise.all([a.tokens.get(), b.tokens.get(), c.tokens.get(), a.tokens.get()])
    t.same(got, Array(4).fill(sandbox.issuedTokens[0]))
    t.equal(sandbox.stats.tokenCalls, 1)
    t.same(
      logs.lines.map((line) => line.msg),
      ['minted a zoho access token for all instances'],
    )
  })

  t.test('Redis holds the token until it expires, under one hash tag, and no lock is left behind', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = `${sandbox.accountsUrl} ${SANDBOX_CREDENTIALS.clientId} ${SANDBOX_CREDENTIALS.refreshToken}`
    const keys = keysFor(credential)
    const { tokens } = await instance(t, sandbox, credential, { clock: { now: T0 } })
    const token = await tokens.get()
    const stored = (await redis.client.keys('creditgate:v1:zoho:*')).filter((key) => key.includes(keys.tag)).sort()
    t.same(stored, [keys.token, keys.mints])
    t.same(JSON.parse((await redis.client.get(keys.token)) as string), { token, expiresAt: T0 + HOUR_MS - FIVE_MINUTES_MS })
    const ttl = await redis.client.pttl(keys.token)
    t.ok(ttl > HOUR_MS - FIVE_MINUTES_MS - 10_000 && ttl <= HOUR_MS - FIVE_MINUTES_MS, `kept until it expires (pttl ${ttl})`)
  })

  t.test('a token another instance stored is used as is: one read, no lock, no mint', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = randomUUID()
    const keys = keysFor(credential)
    const redisSaw = await watchCommands(t, [keys.token, keys.lock, keys.mints])
    await redis.client.set(keys.token, JSON.stringify({ token: 'stored-token', expiresAt: T0 + HOUR_MS }))
    const { tokens } = await instance(t, sandbox, credential, { clock: { now: T0 } })
    await redisSaw.restart()
    t.equal(await tokens.get(), 'stored-token')
    await redisSaw.settled()
    t.same(redisSaw.seen, [['get', keys.token]])
    t.equal(sandbox.stats.tokenCalls, 0)
  })

  t.test('a token stored between this instance’s read and its lock is used: no mint', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = randomUUID()
    const keys = keysFor(credential)
    const redisSaw = await watchCommands(t, [keys.lock])
    const { link, tokens } = await instance(t, sandbox, credential, { clock: { now: T0 } })
    const got = tokens.get()
    // Its read is sent; on its own connection, Redis runs this store after the read and before the lock.
    await link.client.set(keys.token, JSON.stringify({ token: 'their-token', expiresAt: T0 + HOUR_MS }))
    t.equal(await got, 'their-token')
    t.equal(sandbox.stats.tokenCalls, 0)
    await redisSaw.settled()
    t.ok(
      redisSaw.seen.some((args) => isLockAttempt(args, keys.lock)),
      'it found the token under the lock',
    )
  })

  t.test('while another instance holds the refresh lock, this one waits up to 15 s for the token it stores', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = randomUUID()
    const keys = keysFor(credential)
    const redisSaw = await watchCommands(t, [keys.lock])
    await redis.client.set(keys.lock, 'another-instance', 'PX', 10_000)
    const clock = { now: T0 }
    const { tokens } = await instance(t, sandbox, credential, { clock })
    const got = tokens.get().catch((err: unknown) => err)
    // It started waiting at T0: the token arrives at the last moment of its wait.
    clock.now = T0 + 15_000
    await eventually(() => redisSaw.seen.some((args) => isLockAttempt(args, keys.lock)), 'a try for the lock')
    await redis.client.set(keys.token, JSON.stringify({ token: 'their-token', expiresAt: T0 + HOUR_MS }))
    await redis.client.del(keys.lock)
    t.equal(await got, 'their-token')
    t.equal(sandbox.stats.tokenCalls, 0)
  })

  t.test('an instance gives up after waiting 15 s for a lock holder that stores nothing', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = randomUUID()
    const keys = keysFor(credential)
    const redisSaw = await watchCommands(t, [keys.lock])
    await redis.client.set(keys.lock, 'a-stuck-instance', 'PX', 5_000)
    const clock = { now: T0 }
    const { tokens } = await instance(t, sandbox, credential, { clock })
    const outcome = problemOf(tokens.get())
    await eventually(() => redisSaw.seen.some((args) => isLockAttempt(args, keys.lock)), 'a try for the lock')
    clock.now = T0 + 15_001
    t.same(summary(await outcome), {
      code: 'upstream_unavailable',
      detail: 'another instance is refreshing the Zoho access token',
      retryAfterSeconds: 2,
    })
    t.equal(sandbox.stats.tokenCalls, 0)
  })

  t.test('the shared token is replaced when the clock reaches its expiry', async (t) => {
    const sandbox = await startSandbox(t)
    const clock = { now: T0 }
    const { tokens } = await instance(t, sandbox, randomUUID(), { clock })
    const first = await tokens.get()
    clock.now = T0 + HOUR_MS - FIVE_MINUTES_MS - 1
    t.equal(await tokens.get(), first, 'still used 1 ms before its expiry')
    clock.now = T0 + HOUR_MS - FIVE_MINUTES_MS
    t.equal(await tokens.get(), sandbox.issuedTokens[1], 'replaced at its expiry')
    t.equal(sandbox.stats.tokenCalls, 2)
  })

  t.test('a token rejected by every instance is replaced once, and Redis stays in use', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = randomUUID()
    const a = await instance(t, sandbox, credential)
    const b = await instance(t, sandbox, credential)
    const first = await a.tokens.get()
    t.equal(await b.tokens.get(), first)
    await a.tokens.reject(first)
    await b.tokens.reject(first)
    const got = await Promise.all([a.tokens.get(), b.tokens.get()])
    t.same(got, [sandbox.issuedTokens[1], sandbox.issuedTokens[1]])
    t.equal(sandbox.stats.tokenCalls, 2)
    t.same([a.link.up, b.link.up], [true, true])
  })

  t.test('a late rejection of a token another instance already replaced keeps the replacement', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = randomUUID()
    const a = await instance(t, sandbox, credential)
    const b = await instance(t, sandbox, credential)
    const first = await a.tokens.get()
    t.equal(await b.tokens.get(), first)
    await b.tokens.reject(first)
    const second = await b.tokens.get()
    t.equal(second, sandbox.issuedTokens[1])
    await a.tokens.reject(first)
    t.equal(await a.tokens.get(), second)
    t.equal(sandbox.stats.tokenCalls, 2)
  })

  t.test('a late rejection of an old token costs this instance neither its token nor a read', async (t) => {
    const sandbox = await startSandbox(t)
    const credential = randomUUID()
    const keys = keysFor(credential)
    const redisSaw = await watchCommands(t, [keys.token, keys.lock, keys.mints])
    const { tokens } = await instance(t, sandbox, credential)
    const first = await tokens.get()
    await tokens.reject(first)
    const second = await tokens.get()
    await redisSaw.restart()
    await tokens.reject(first)
    t.equal(await tokens.get(), second)
    await redisSaw.settled()
    t.same(redisSaw.seen, [['get', keys.token]], 'only the rejection looked at Redis')
    t.equal(sandbox.stats.tokenCalls, 2)
  })

  t.test('mints by every instance count towards Zoho’s 10 per 10 minutes', async (t) => {
    const sandbox = await startSandbox(t, { mintsPerWindow: 100 })
    const credential = randomUUID()
    const a = await instance(t, sandbox, credential)
    const b = await instance(t, sandbox, credential)
    for (let i = 0; i < 10; i++) {
      const { tokens } = i % 2 === 0 ? a : b
      await tokens.reject(await tokens.get())
    }
    t.equal(sandbox.stats.tokenCalls, 10)
    const refused = await problemOf(b.tokens.get())
    t.same(
      { code: refused.code, detail: refused.detail },
      { code: 'upstream_unavailable', detail: 'Zoho allows 10 token refreshes per 10 minutes and they are used up' },
    )
    const retry = refused.retryAfterSeconds ?? 0
    t.ok(retry > 590 && retry <= 600, `retry when the first mint leaves the window (in ${retry} s)`)
    t.equal(sandbox.stats.tokenCalls, 10, 'the eleventh mint never left')
  })

  t.test('a malformed token in Redis is replaced by a fresh mint', async (t) => {
    const sandbox = await startSandbox(t)
    const far = T0 + HOUR_MS
    const malformed = [
      'not json',
      'null',
      JSON.stringify({ token: 12345, expiresAt: far }),
      JSON.stringify({ token: 'foreign-token', expiresAt: String(far) }),
      JSON.stringify({ token: 'foreign-token' }),
    ]
    for (const [i, raw] of malformed.entries()) {
      const credential = randomUUID()
      const keys = keysFor(credential)
      await redis.client.set(keys.token, raw)
      const { tokens } = await instance(t, sandbox, credential, { clock: { now: T0 } })
      t.equal(await tokens.get(), sandbox.issuedTokens[i], raw)
      t.equal(JSON.parse((await redis.client.get(keys.token)) as string).token, sandbox.issuedTokens[i], 'overwritten')
    }
  })
})

async function redisDown(link: { up: boolean }, server: TestRedis) {
  await server.kill()
  await eventually(() => !link.up, 'the link to notice Redis is gone')
}

t.test('while Redis is down', async (t) => {
  t.test('tokens are minted in-process', async (t) => {
    const own = await startRedis(t)
    const sandbox = await startSandbox(t)
    const { link, tokens } = await instance(t, sandbox, randomUUID(), { redisUrl: own.url })
    await redisDown(link, own)
    t.equal(await tokens.get(), sandbox.issuedTokens[0])
    t.equal(sandbox.stats.tokenCalls, 1)
  })

  t.test('the token already held is kept', async (t) => {
    const own = await startRedis(t)
    const sandbox = await startSandbox(t)
    const { link, tokens } = await instance(t, sandbox, randomUUID(), { redisUrl: own.url })
    const token = await tokens.get()
    await redisDown(link, own)
    t.equal(await tokens.get(), token)
    t.equal(sandbox.stats.tokenCalls, 1)
  })
})
