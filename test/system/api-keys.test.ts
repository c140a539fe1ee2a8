import { createHash } from 'node:crypto'
import t from 'tap'
import { AUTH_FAILURES_PER_MINUTE, keyFingerprint } from '../../src/plugins/access.js'
import { logCapture, problem, startApp, startSandbox } from '../helpers/app.js'
import { TWO_CALLERS } from '../helpers/keys.js'
import { ADMIN, CALLER, KEYS, rulesApp, rulesCopy } from '../helpers/rules-folder.js'

/**
 * API keys as a deployment meets them: what stays open when keys are required, the open API
 * without them, and an address presenting wrong keys throttled without locking out valid ones.
 */

t.test('probes, metrics and docs stay open when keys are required', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: TWO_CALLERS })
  for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json', '/docs/']) {
    t.equal((await app.inject({ url })).statusCode, 200, url)
  }
  problem(t, await app.inject({ url: '/rules' }), 401, 'unauthorized')
})

t.test('without API_KEYS the API is open, with a loud warning', async (t) => {
  const sandbox = await startSandbox(t)
  const logs = logCapture()
  const { app } = await startApp(t, sandbox, { logs, env: { LOG_LEVEL: 'info' } })
  t.ok(
    logs.lines.some((l) => l.level === 40 && /API_KEYS is not set/.test(String(l.msg))),
    'a warning at start',
  )
  t.equal((await app.inject({ url: '/contacts/460000000031001/risk' })).statusCode, 200)
})

// Issue 13, finding 12 (failed before its fix).
t.test('an address presenting wrong keys is throttled; its valid keys never are', async (t) => {
  const logs = logCapture()
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...KEYS, RULES_DIR: await rulesCopy(t), LOG_LEVEL: 'info' }, logs })
  const from = (headers: Record<string, string>, url = '/contacts/460000000031001/risk') =>
    app.inject({ url, headers, remoteAddress: '10.9.9.9' })
  const wrong = []
  const valid = []
  for (let i = 0; i < 50; i++) {
    wrong.push((await from({ 'x-api-key': `expired-${i % 2}-0123456789abcdef` })).statusCode)
    // The order system behind the same address (a proxy, a NAT) goes on deciding.
    if (i % 10 === 9) valid.push((await from(CALLER)).statusCode)
  }
  t.same(wrong, [...Array(AUTH_FAILURES_PER_MINUTE).fill(401), ...Array(50 - AUTH_FAILURES_PER_MINUTE).fill(429)], '401, then 429')
  t.same(valid, [200, 200, 200, 200, 200], 'a valid key is never throttled')
  t.equal((await from(CALLER)).statusCode, 200)
  t.equal((await from(ADMIN, '/rules')).statusCode, 200, 'nor an admin key')
  const throttled = await from({ authorization: 'Bearer still-wrong-0123456789abcdef' })
  t.match(problem(t, throttled, 429, 'rate_limited').detail, /more than 10 wrong or missing API keys from this address in a minute/)
  t.ok(Number(throttled.headers['retry-after']) >= 1, 'with Retry-After')
  problem(t, await from({}), 429, 'rate_limited')
  t.equal(
    (
      await app.inject({
        url: '/contacts/460000000031001/risk',
        headers: { 'x-api-key': 'wrong-0123456789abcdef' },
        remoteAddress: '10.9.9.10',
      })
    ).statusCode,
    401,
    'another address has its own count',
  )

  // What an operator sees: one line for the client in the minute, naming its keys by fingerprint; no line per request.
  const lines = logs.lines.filter((l) => l.msg === 'wrong or missing API keys from this client (one line per client and minute)')
  t.same(
    lines.map((l) => [l.client, l.refused, l.keys]),
    [
      ['10.9.9.9', 1, [keyFingerprint('expired-0-0123456789abcdef')]],
      ['10.9.9.10', 1, [keyFingerprint('wrong-0123456789abcdef')]],
    ],
  )
  t.equal(keyFingerprint('expired-0-0123456789abcdef'), createHash('sha256').update('expired-0-0123456789abcdef').digest('hex').slice(0, 8))
  t.notOk(
    logs.raw.some((l) => l.includes('0123456789abcdef')),
    'never a key',
  )
  const perRequest = logs.lines.filter(
    (l) => ['request refused', 'request completed'].includes(l.msg as string) && [401, 429].includes(Number(l.statusCode ?? 0)),
  )
  t.same(perRequest, [], 'no line per refused request')
  t.equal(logs.lines.filter((l) => l.msg === 'request refused').length, 0)
  const metrics = (await app.inject({ url: '/metrics' })).body
  t.match(metrics, new RegExp(`creditgate_auth_refused_total\\{key="${keyFingerprint('expired-0-0123456789abcdef')}"\\} 25`))
  t.match(metrics, new RegExp(`creditgate_auth_refused_total\\{key="${keyFingerprint('expired-1-0123456789abcdef')}"\\} 25`))
  t.match(metrics, /creditgate_auth_refused_total\{key="none"\} 1/)
})

// Issue 13, finding 12 (failed before its fix).
t.test('a caller key calling an admin route 20 times locks out nobody', async (t) => {
  const { app } = await rulesApp(t, await rulesCopy(t))
  const from = (headers: Record<string, string>, url = '/rules/reload', method: 'GET' | 'POST' = 'POST') =>
    app.inject({ method, url, headers, remoteAddress: '10.9.9.9' })
  const refused = []
  for (let i = 0; i < 20; i++) refused.push((await from(CALLER)).statusCode)
  t.same(refused, Array(20).fill(403), 'a valid key where it may not go: 403, not a wrong key')
  t.equal((await from(ADMIN)).statusCode, 200, 'the admin console from the same address')
  t.equal((await from(CALLER, '/contacts/460000000031001/risk', 'GET')).statusCode, 200, 'the caller itself')
  t.equal((await from({ 'x-api-key': 'wrong-0123456789abcdef' })).statusCode, 401, 'the 403s counted nothing')
})

// Issue 13, finding 12 (failed before its fix).
t.test('wrong keys behind a proxy named in TRUST_PROXY are counted per client; otherwise per peer', async (t) => {
  const sandbox = await startSandbox(t)
  for (const [trust, second] of [
    ['127.0.0.1', 401],
    [undefined, 429],
  ] as const) {
    const { app } = await startApp(t, sandbox, { env: { ...KEYS, ...(trust ? { TRUST_PROXY: trust } : {}) } })
    const via = (client: string) =>
      app.inject({ url: '/contacts/460000000031001/risk', headers: { 'x-api-key': 'wrong-0123456789abcdef', 'x-forwarded-for': client } })
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) t.equal((await via('203.0.113.7')).statusCode, 401)
    t.equal((await via('203.0.113.7')).statusCode, 429)
    t.equal((await via('203.0.113.8')).statusCode, second, `TRUST_PROXY ${trust ?? 'unset'}: another client behind the proxy`)
  }
})
