import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import {
  createLocalTokens,
  createTokenMinter,
  MINT_WINDOW_MS,
  type MintedToken,
  type MintToken,
  mintWait,
} from '../src/adapters/zoho/tokens.js'
import { isProblem, type Problem } from '../src/errors.js'
import { SANDBOX_CREDENTIALS } from '../src/sandbox/contacts.js'
import type { Sandbox } from '../src/sandbox/sandbox.js'
import { startSandbox } from './helpers/app.js'

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
