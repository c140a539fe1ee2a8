import { createHash, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import t, { type Test } from 'tap'
import { createLocalTokens } from '../../src/adapters/local/tokens.js'
import { connectRedis } from '../../src/adapters/redis/link.js'
import { createSharedTokens } from '../../src/adapters/redis/tokens.js'
import { createTokenMinter, MINT_WINDOW_MS, type MintedToken, type MintToken, mintWait } from '../../src/adapters/zoho/tokens.js'
import { isProblem, type Problem } from '../../src/errors.js'
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { eventually, logCapture, startSandbox } from '../helpers/app.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'

const silent = pino({ level: 'silent' })
/** A fixed instant; tests move their clocks from it instead of waiting. */
const T0 = Date.UTC(2026, 10, 24, 10)
const HOUR_MS = 3_600_000
const FIVE_MINUTES_MS = 300_000

async function problemOf(promise: Promise<unknown>): Promise<Problem> {
  try {
    await promise
  } catch (err) {
    if (isProblem(err)) return err
    throw err
  }
  throw new Error('expected a problem, got a result')
}

const summary = (p: Problem) => ({ code: p.code, detail: p.detail, retryAfterSeconds: p.retryAfterSeconds })

/** The minter against the sandbox, its clock stopped at T0. */
function minter(sandbox: Sandbox): MintToken {
  return createTokenMinter({ accountsUrl: sandbox.accountsUrl, credentials: SANDBOX_CREDENTIALS, timeoutMs: 2000, now: () => T0 })
}

t.test('the token minter', async (t) => {
  t.test('a refresh is the form POST Zoho documents, asking for JSON', async (t) => {
    // A bare server rather than the sandbox: the point is exactly what arrives on the wire.
    let seen: Record<string, unknown> = {}
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => {
        body += chunk
      })
      req.on('end', () => {
        seen = {
          method: req.method,
          url: req.url,
          contentType: req.headers['content-type'],
          accept: req.headers.accept,
          form: Object.fromEntries(new URLSearchParams(body)),
        }
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ access_token: '1000.abc.def', expires_in: 3600 }))
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.teardown(() => server.close())
    const { port } = server.address() as AddressInfo
    const mint = createTokenMinter({ accountsUrl: `http://127.0.0.1:${port}`, credentials: SANDBOX_CREDENTIALS, timeoutMs: 2000 })
    t.equal((await mint()).token, '1000.abc.def')
    t.same(seen, {
      method: 'POST',
      url: '/oauth/v2/token',
      contentType: 'application/x-www-form-urlencoded',
      accept: 'application/json',
      form: {
        grant_type: 'refresh_token',
        refresh_token: SANDBOX_CREDENTIALS.refreshToken,
        client_id: SANDBOX_CREDENTIALS.clientId,
        client_secret: SANDBOX_CREDENTIALS.clientSecret,
      },
    })
  })

  t.test("an hour's token is used until 5 minutes before Zoho expires it", async (t) => {
    const sandbox = await startSandbox(t, { tokenTtlSeconds: 3600 })
    const minted = await minter(sandbox)()
    t.same(minted, { token: sandbox.issuedTokens[0], expiresAt: T0 + HOUR_MS - FIVE_MINUTES_MS })
  })

  t.test('a short-lived token is given up a quarter of its life early', async (t) => {
    const sandbox = await startSandbox(t, { tokenTtlSeconds: 400 })
    const minted = await minter(sandbox)()
    t.same(minted, { token: sandbox.issuedTokens[0], expiresAt: T0 + 300_000 })
  })

  t.test("without a usable expires_in, a token is taken to last Zoho's hour", async (t) => {
    const sandbox = await startSandbox(t)
    const mint = minter(sandbox)
    for (const expiresIn of [undefined, 0, -60, '7200']) {
      sandbox.faults.token.push({ body: { access_token: `token-${expiresIn}`, token_type: 'Bearer', expires_in: expiresIn } })
      t.same(await mint(), { token: `token-${expiresIn}`, expiresAt: T0 + HOUR_MS - FIVE_MINUTES_MS }, `expires_in ${expiresIn}`)
    }
  })

  t.test('what the accounts server answers becomes the problem a caller can act on', async (t) => {
    const sandbox = await startSandbox(t)
    const mint = minter(sandbox)
    const cases = [
      {
        answer: { body: { error: 'invalid_code' } },
        problem: { code: 'upstream_error', detail: 'Zoho refused the token refresh: invalid_code', retryAfterSeconds: undefined },
      },
      {
        answer: { status: 400, body: { error: 'invalid_client' } },
        problem: { code: 'upstream_error', detail: 'Zoho refused the token refresh: invalid_client', retryAfterSeconds: undefined },
      },
      {
        answer: { body: { error: 'Access Denied', error_description: 'You have made too many requests continuously.' } },
        problem: {
          code: 'upstream_unavailable',
          detail: 'Zoho is throttling token refreshes for this refresh token (Access Denied)',
          retryAfterSeconds: 60,
        },
      },
      {
        answer: { status: 500, body: '<html>Internal Server Error</html>' },
        problem: {
          code: 'upstream_unavailable',
          detail: 'the Zoho accounts server answered HTTP 500 to the token refresh',
          retryAfterSeconds: 5,
        },
      },
      {
        answer: { status: 503, body: { error: 'Access Denied' } },
        problem: {
          code: 'upstream_unavailable',
          detail: 'the Zoho accounts server answered HTTP 503 to the token refresh',
          retryAfterSeconds: 5,
        },
      },
      {
        answer: { status: 429, body: '' },
        problem: {
          code: 'upstream_unavailable',
          detail: 'the Zoho accounts server answered HTTP 429 to the token refresh',
          retryAfterSeconds: 60,
        },
      },
      {
        answer: { status: 401, body: '<html>Unauthorized</html>' },
        problem: { code: 'upstream_error', detail: 'Zoho refused the token refresh: HTTP 401', retryAfterSeconds: undefined },
      },
      {
        answer: { status: 404, body: { access_token: 'not-from-a-404', expires_in: 3600 } },
        problem: { code: 'upstream_error', detail: 'Zoho refused the token refresh: HTTP 404', retryAfterSeconds: undefined },
      },
      {
        answer: { body: 'OK' },
        problem: { code: 'upstream_error', detail: 'the Zoho token response carries no access_token', retryAfterSeconds: undefined },
      },
      {
        answer: { body: { access_token: '', expires_in: 3600 } },
        problem: { code: 'upstream_error', detail: 'the Zoho token response carries no access_token', retryAfterSeconds: undefined },
      },
      {
        answer: { body: { access_token: 12345, expires_in: 3600 } },
        problem: { code: 'upstream_error', detail: 'the Zoho token response carries no access_token', retryAfterSeconds: undefined },
      },
    ]
    for (const c of cases) {
      sandbox.faults.token.push(c.answer)
      t.same(summary(await problemOf(mint())), c.problem, JSON.stringify(c.answer))
    }
  })

  t.test('an accounts server that cannot be reached is upstream_unavailable, retried in 5 s', async (t) => {
    const sandbox = await startSandbox(t)
    const mint = minter(sandbox)
    await sandbox.close()
    t.same(summary(await problemOf(mint())), {
      code: 'upstream_unavailable',
      detail: 'the Zoho accounts server did not answer the token refresh',
      retryAfterSeconds: 5,
    })
  })
})

t.test('the wait before another mint (mintWait)', async (t) => {
  const recent = (n: number) => Array.from({ length: n }, (_, i) => T0 - 1000 * (i + 1))

  t.test('fewer than 10 mints in the last 10 minutes: no wait, however many older ones', async (t) => {
    const older = [T0 - MINT_WINDOW_MS - 1, T0 - MINT_WINDOW_MS - 60_000, T0 - 2 * MINT_WINDOW_MS]
    t.equal(mintWait([...older, ...recent(9)], T0), 0)
  })

  t.test('a mint exactly 10 minutes old no longer counts', async (t) => {
    t.equal(mintWait([T0 - MINT_WINDOW_MS, ...recent(9)], T0), 0)
  })

  t.test('10 mints in the window: the seconds until the oldest leaves it, rounded up', async (t) => {
    t.equal(mintWait([...recent(9), T0 - MINT_WINDOW_MS + 1_500], T0), 2)
    t.equal(mintWait([...recent(9), T0 - MINT_WINDOW_MS + 90_000], T0), 90)
  })
})

/** A minter standing in for Zoho: tokens t1, t2, … each valid for lifeMs from the clock's time. */
function fakeMint(now: () => number, lifeMs = 60_000) {
  const minted: MintedToken[] = []
  let failNext = false
  const mint: MintToken = async () => {
    if (failNext) {
      failNext = false
      throw new Error('the accounts server is down')
    }
    const token = { token: `t${minted.length + 1}`, expiresAt: now() + lifeMs }
    minted.push(token)
    return token
  }
  return {
    mint,
    minted,
    failOnce() {
      failNext = true
    },
  }
}

t.test('the per-process token', async (t) => {
  t.test('concurrent callers share one mint', async (t) => {
    const zoho = fakeMint(() => T0)
    const tokens = createLocalTokens(zoho.mint, () => T0)
    t.same(await Promise.all([tokens.get(), tokens.get(), tokens.get()]), ['t1', 't1', 't1'])
    t.equal(await tokens.get(), 't1')
    t.equal(zoho.minted.length, 1)
  })

  t.test('a token is used until its expiry, then replaced', async (t) => {
    let clock = T0
    const zoho = fakeMint(() => clock, 60_000)
    const tokens = createLocalTokens(zoho.mint, () => clock)
    t.equal(await tokens.get(), 't1')
    clock = T0 + 59_999
    t.equal(await tokens.get(), 't1', 'still used 1 ms before its expiry')
    clock = T0 + 60_000
    t.equal(await tokens.get(), 't2', 'replaced at its expiry')
    t.equal(zoho.minted.length, 2)
  })

  t.test('a rejected token is replaced by one mint, however many calls reject it', async (t) => {
    const zoho = fakeMint(() => T0)
    const tokens = createLocalTokens(zoho.mint, () => T0)
    t.equal(await tokens.get(), 't1')
    await tokens.reject('t1')
    await tokens.reject('t1')
    t.same(await Promise.all([tokens.get(), tokens.get()]), ['t2', 't2'])
    t.equal(zoho.minted.length, 2)
  })

  t.test('a late rejection of a token already replaced keeps the replacement', async (t) => {
    const zoho = fakeMint(() => T0)
    const tokens = createLocalTokens(zoho.mint, () => T0)
    await tokens.get()
    await tokens.reject('t1')
    t.equal(await tokens.get(), 't2')
    await tokens.reject('t1')
    t.equal(await tokens.get(), 't2')
    t.equal(zoho.minted.length, 2)
  })

  t.test('a failed mint is tried again by the next call', async (t) => {
    const zoho = fakeMint(() => T0)
    const tokens = createLocalTokens(zoho.mint, () => T0)
    zoho.failOnce()
    await t.rejects(tokens.get(), { message: 'the accounts server is down' })
    t.equal(await tokens.get(), 't1')
  })

  t.test('at most 10 mints per 10 minutes: the 11th waits until the oldest leaves the window', async (t) => {
    let clock = T0
    const zoho = fakeMint(() => clock)
    const tokens = createLocalTokens(zoho.mint, () => clock)
    for (let i = 1; i <= 10; i++) {
      t.equal(await tokens.get(), `t${i}`)
      await tokens.reject(`t${i}`)
      clock += 1000
    }
    // 10 s after the first mint: it leaves the window in 590 s.
    t.same(summary(await problemOf(tokens.get())), {
      code: 'upstream_unavailable',
      detail: 'Zoho allows 10 token refreshes per 10 minutes and they are used up',
      retryAfterSeconds: 590,
    })
    clock = T0 + MINT_WINDOW_MS
    t.equal(await tokens.get(), 't11', 'allowed once the first mint is 10 minutes old')
    await tokens.reject('t11')
    t.equal((await problemOf(tokens.get())).retryAfterSeconds, 1, 'the second mint leaves the window 1 s later')
    t.equal(zoho.minted.length, 11)
  })
})

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
