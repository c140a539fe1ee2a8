import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createTokenMinter, type MintToken } from '../../src/adapters/zoho/tokens.js'
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { startSandbox } from '../helpers/app.js'
import { FIVE_MINUTES_MS, HOUR_MS, problemOf, summary, T0 } from '../helpers/tokens.js'

/** The Zoho token minter against the sandbox's accounts server: the refresh request, a token's useful life, errors. */

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
