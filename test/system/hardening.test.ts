import { spawn } from 'node:child_process'
import t from 'tap'
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/contacts.js'
import { contactOnlyRules, eventually, logCapture, ORG, problem, sandboxEnv, startApp, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

const SHOP_KEY = 'shop-key-0123456789abcdef'
const ERP_KEY = 'erp-key-0123456789abcdef0'
const OPS_KEY = 'ops-key-0123456789abcdef'
const WEBHOOK_SECRET = 'webhook-secret-0123456789'
const KEYS = { API_KEYS: `shop:${SHOP_KEY},erp:${ERP_KEY}`, ADMIN_API_KEYS: `ops:${OPS_KEY}`, WEBHOOK_SECRET }

t.test('probes, metrics and docs stay open when keys are required', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
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

t.test('caller rate limits: 429 rate_limited with Retry-After, per key', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...KEYS, RATE_LIMIT_PER_MINUTE: '5' } })
  const ask = (key: string) => app.inject({ url: '/contacts/460000000031001/risk', headers: { authorization: `Bearer ${key}` } })
  for (let i = 0; i < 5; i++) t.equal((await ask(SHOP_KEY)).statusCode, 200)
  const limited = await ask(SHOP_KEY)
  t.match(problem(t, limited, 429, 'rate_limited').detail, /more than 5 requests per minute/)
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
  t.equal((await ask(ERP_KEY)).statusCode, 200, 'another key has its own allowance')
  for (let i = 0; i < 10; i++) t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
  t.equal(sandbox.stats.contactCalls, 1, 'throttled requests never reached Zoho')
})

t.test('with Redis the rate limit is shared by the instances', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const env = { ...KEYS, REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '6' }
  const a = await startApp(t, sandbox, { env })
  const b = await startApp(t, sandbox, { env })
  const headers = { 'x-api-key': SHOP_KEY }
  for (let i = 0; i < 3; i++) {
    t.equal((await a.app.inject({ url: '/contacts/460000000031001/risk', headers })).statusCode, 200)
    t.equal((await b.app.inject({ url: '/contacts/460000000031001/risk', headers })).statusCode, 200)
  }
  // Each instance adds its count to the shared one every 100 ms, not on every request, and
  // learns the others' counts then: the limit holds to within one flush of each instance.
  await redis.client.connect()
  const shared = async () => Number(await redis.client.get('creditgate:v1:ratelimit:shop'))
  await eventually(async () => (await shared()) === 6, 'both counts in Redis')
  let extra = 0
  let sent = 0
  for (const instance of [a, b, a, b]) {
    const res = await instance.app.inject({ url: '/contacts/460000000031001/risk', headers })
    // Every request counts, a refused one too: the shared count grows by one per request.
    const expected = 6 + ++sent
    if (res.statusCode === 200) {
      extra++
      await eventually(async () => (await shared()) === expected, 'the extra request to reach Redis')
    } else problem(t, res, 429, 'rate_limited')
  }
  t.ok(extra <= 1, `${extra} request(s) over the shared limit of 6, while one instance had not yet heard of the other's`)
  problem(t, await a.app.inject({ url: '/contacts/460000000031001/risk', headers }), 429, 'rate_limited')
  problem(t, await b.app.inject({ url: '/contacts/460000000031001/risk', headers }), 429, 'rate_limited')
})

t.test('/metrics in Prometheus format', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    env: { REDIS_URL: redis.url, ZOHO_REQUESTS_PER_MINUTE: '3', RULES_DIR: await contactOnlyRules(t) },
  })
  await app.inject({ url: '/contacts/460000000026049/risk' })
  await app.inject({ url: '/contacts/460000000026049/risk' })
  await app.inject({ url: '/contacts/460000000031002/risk' })
  await app.inject({ url: '/contacts/460000000099999/risk' })
  await app.inject({ url: '/contacts/460000000031001/risk' })
  await app.inject({ url: '/contacts/abc/risk' })
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  const text = res.body
  const expected = [
    /creditgate_http_request_duration_seconds_count\{route="\/contacts\/:contact_id\/risk",method="GET",status_code="200"\} 3/,
    /creditgate_http_request_duration_seconds_count\{route="\/contacts\/:contact_id\/risk",method="GET",status_code="400"\} 1/,
    /creditgate_decisions_total\{decision="block"\} 2/,
    /creditgate_decisions_total\{decision="allow"\} 1/,
    /creditgate_rule_fired_total\{rule="outstanding-over-50000",type="block"\} 2/,
    /creditgate_rule_fired_total\{rule="apply-unused-credits",type="alert"\} 3/,
    /creditgate_contact_cache_total\{result="hit"\} 1/,
    /creditgate_contact_cache_total\{result="miss"\} 4/,
    /creditgate_zoho_calls_total\{outcome="ok"\} 2/,
    /creditgate_zoho_calls_total\{outcome="not_found"\} 1/,
    /creditgate_zoho_call_duration_seconds_count\{outcome="ok"\} 2/,
    /creditgate_zoho_budget_rejections_total\{reason="spent"\} 1/,
    /^creditgate_redis_degraded 0$/m,
    /creditgate_rules_info\{version="sha256:[0-9a-f]{64}"\} 1/,
    /process_cpu_seconds_total/,
    /nodejs_eventloop_lag_seconds/,
  ]
  for (const pattern of expected) t.match(text, pattern)

  await redis.kill()
  await eventually(async () => /^creditgate_redis_degraded 1$/m.test((await app.inject({ url: '/metrics' })).body), 'the degraded gauge')
  t.match((await app.inject({ url: '/metrics' })).body, /^creditgate_redis_degraded_total 1$/m)
})

t.test('security headers, and Swagger UI still works under its own policy', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  for (const url of ['/contacts/460000000031001/risk', '/contacts/abc/risk', '/nope']) {
    const api = await app.inject({ url })
    t.equal(api.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", url)
    t.equal(api.headers['x-content-type-options'], 'nosniff')
    t.equal(api.headers['x-frame-options'], 'DENY')
    t.equal(api.headers['cache-control'], 'no-store', 'no proxy keeps a decision')
    t.match(api.headers['strict-transport-security'], /max-age=\d+/)
    t.notOk(api.headers['x-powered-by'])
  }
  const ui = await app.inject({ url: '/docs/' })
  for (const header of ['x-content-type-options', 'cross-origin-opener-policy', 'referrer-policy', 'strict-transport-security']) {
    t.ok(ui.headers[header], `the page has helmet's ${header}`)
  }
  const csp = String(ui.headers['content-security-policy'])
  t.match(csp, /script-src 'self'/, 'the UI’s own scripts only')
  t.notMatch(csp, /validator\.swagger\.io/, 'no call to the online validator')
  t.notMatch(csp, /upgrade-insecure-requests/, 'assets load over plain http on loopback')
  t.notMatch(ui.body, /https?:\/\/(?!127)[a-z]/i, 'no asset from a CDN')
})

t.test('one decision log line per decision, and no secret in any log line', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const logs = logCapture()
  const { app } = await startApp(t, sandbox, { logs, env: { ...KEYS, REDIS_URL: redis.url, LOG_LEVEL: 'debug' } })
  const shop = { authorization: `Bearer ${SHOP_KEY}` }
  const decision = (
    await app.inject({
      method: 'POST',
      url: '/contacts/460000000031004/risk',
      headers: shop,
      payload: { order: { amount: 6000, currency: 'INR', reference: 'SO-1001' } },
    })
  ).json()
  await app.inject({ url: '/contacts/460000000026049/risk?explain=true', headers: { 'x-api-key': ERP_KEY } })
  // Everything else a day brings: a rejected token, refused keys, admin work, webhooks, errors.
  sandbox.revokeTokens()
  await app.inject({ url: '/contacts/460000000031001/risk', headers: shop })
  await app.inject({ url: '/contacts/460000000031001/risk', headers: { authorization: `Bearer ${SHOP_KEY}x` } })
  await app.inject({ url: '/contacts/460000000099999/risk', headers: shop })
  await app.inject({ method: 'DELETE', url: '/contacts/460000000031001/cache', headers: { 'x-api-key': OPS_KEY } })
  await app.inject({ method: 'DELETE', url: '/contacts/460000000031001/cache', headers: shop })
  await app.inject({ method: 'POST', url: `/webhooks/zoho?secret=${WEBHOOK_SECRET}`, payload: { contact_id: '460000000031001' } })
  await app.inject({ method: 'POST', url: '/webhooks/zoho', headers: { 'x-webhook-secret': WEBHOOK_SECRET }, payload: { contact_id: '1' } })
  await app.inject({ method: 'POST', url: '/webhooks/zoho?secret=wrong-secret', payload: { contact_id: '1' } })
  await app.inject({ method: 'POST', url: '/rules/reload', headers: { 'x-api-key': OPS_KEY } })
  sandbox.faults.contact.push({ status: 401, body: { code: 57 } }, { status: 401, body: { code: 57 } })
  await app.inject({ url: '/contacts/460000000031002/risk', headers: shop })
  sandbox.faults.token.push({ body: { error: 'invalid_client' } })
  sandbox.revokeTokens()
  await app.inject({ url: '/contacts/460000000031003/risk', headers: shop })

  const decisions = logs.lines.filter((l) => l.msg === 'decision')
  t.equal(decisions.length, 3, 'one line per decision')
  t.match(decisions[0], {
    level: 30,
    decision_id: decision.decision_id,
    contact_id: '460000000031004',
    organization_id: ORG,
    decision: 'block',
    rules_version: decision.rules_version,
    contact_source: 'zoho',
    contact_age_seconds: 0,
    facts: { outstanding_bcy: 38000, credit_limit: 40000, order_amount: 6000 },
    order: { amount: 6000, currency: 'INR', reference: 'SO-1001' },
    caller: 'shop',
    latency_ms: Number,
    reqId: String,
  })
  t.same(decisions[0]?.reasons, ['CREDIT_LIMIT_EXCEEDED'])
  t.same(decisions[0]?.alerts, ['UTILIZATION_OVER_80'])
  t.match(decisions[1], { caller: 'erp', contact_id: '460000000026049' })

  const secrets = [
    SHOP_KEY,
    ERP_KEY,
    OPS_KEY,
    WEBHOOK_SECRET,
    SANDBOX_CREDENTIALS.clientSecret,
    SANDBOX_CREDENTIALS.refreshToken,
    ...sandbox.issuedTokens,
  ]
  t.ok(sandbox.issuedTokens.length >= 2, 'tokens were minted and rejected along the way')
  t.ok(logs.raw.length > 25, `${logs.raw.length} log lines read`)
  for (const line of logs.raw) {
    for (const secret of secrets) {
      if (line.includes(secret)) t.fail(`a secret in the log: ${line.slice(0, 300)}`)
    }
  }
  t.ok(
    logs.raw.some((l) => l.includes('/webhooks/zoho?[redacted]')),
    'the webhook’s query string is never logged',
  )
})

t.test('SIGTERM drains in-flight requests, then the process exits 0', async (t) => {
  const sandbox = await startSandbox(t)
  sandbox.faults.latencyMs = 600
  const env = { ...process.env, ...sandboxEnv(sandbox, { PORT: '0', LOG_LEVEL: 'info' }) }
  const child = spawn(process.execPath, ['dist/server.js'], { env })
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  await eventually(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.test(output), 'the server to listen', 20_000)
  const base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
  const inFlight = fetch(`${base}/contacts/460000000031001/risk`)
  await eventually(() => sandbox.stats.contactCalls === 1, 'the request to reach Zoho')
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  const res = await inFlight
  t.equal(res.status, 200, 'the request in flight was answered')
  t.equal(((await res.json()) as { decision: string }).decision, 'allow')
  t.equal(await exited, 0)
  t.match(output, /"signal":"SIGTERM".*"msg":"shutting down: not ready, then draining in-flight requests"/)
})
