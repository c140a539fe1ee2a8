import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { AUTH_FAILURES_PER_MINUTE, keyFingerprint } from '../../src/plugins/access.js'
import { openServer } from '../../src/server.js'
import { MAX_FIXTURE_CASES } from '../../src/services/rule-sets/fixtures.js'
import { contactOnlyRules, eventually, logCapture, problem, sandboxEnv, startApp, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { longestStall, STALL_MS } from '../helpers/stall.js'

/**
 * What a hostile caller, a careless operator or a broken rule file did to the service (issue 13),
 * one test per finding: each failed before the fix.
 */
const ADMIN = { 'x-api-key': 'ops-key-0123456789abcdef' }
const CALLER = { 'x-api-key': 'shop-key-0123456789abcdef' }
const KEYS = { API_KEYS: 'shop:shop-key-0123456789abcdef', ADMIN_API_KEYS: 'ops:ops-key-0123456789abcdef' }

/** A rule whose condition is `depth` nested `not`s around one comparison. */
function deepRule(depth: number) {
  let conditions: unknown = { fact: 'outstanding_bcy', operator: 'greaterThan', value: 1 }
  for (let i = 0; i < depth; i++) conditions = { not: conditions }
  return { name: 'deep', conditions: { all: [conditions] }, event: { type: 'block', params: { code: 'DEEP', message: 'deep' } } }
}

const ruleFile = (name: string, value: number) => ({
  name,
  conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value }] },
  event: { type: 'review', params: { code: name.toUpperCase().replaceAll('-', '_'), message: 'over {{outstanding_bcy}}' } },
})

async function rulesCopy(t: Test): Promise<string> {
  const dir = t.testdir({})
  await cp('rules', dir, { recursive: true })
  await rm(join(dir, 'tests'), { recursive: true })
  return dir
}

async function rulesApp(t: Test, env: Record<string, string> = {}) {
  const dir = await rulesCopy(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, ...KEYS, ...env } })
  const status = async () => (await app.inject({ url: '/rules', headers: CALLER })).json()
  return { app, dir, sandbox, status }
}

/** Reloads and returns the rejection's errors. */
async function rejected(t: Test, app: Awaited<ReturnType<typeof rulesApp>>['app']) {
  const reload = await app.rules.reload('test')
  t.equal(reload.result, 'rejected', 'the change is refused; the last good set stays')
  return reload.errors ?? []
}

t.test('1. a rule file nested 1,500 deep is refused by a running service, which keeps deciding', async (t) => {
  const { app, dir, status } = await rulesApp(t)
  const good = (await status()).version
  await writeFile(join(dir, 'deep.json'), JSON.stringify(deepRule(1500)))
  const errors = await rejected(t, app)
  t.same(errors, [{ file: 'deep.json', path: errors[0]?.path, message: 'nested deeper than 24 levels' }])
  t.equal((await status()).version, good)
  t.equal((await app.inject({ url: '/contacts/460000000026049/risk', headers: CALLER })).json().decision, 'block')
})

t.test('1. …and stops start-up with one readable line, not a stack overflow', async (t) => {
  const dir = await rulesCopy(t)
  await writeFile(join(dir, 'deep.json'), JSON.stringify(deepRule(1500)))
  const run = spawnSync(process.execPath, ['dist/server.js'], { env: { ...process.env, RULES_DIR: dir, PORT: '0' }, encoding: 'utf8' })
  t.equal(run.status, 1)
  t.match(run.stderr, /deep\.json \$\.conditions\.all\[0\](\.not)+: nested deeper than 24 levels/)
  t.notMatch(run.stderr, /Maximum call stack|RangeError|at /)
})

t.test('2. the same nesting posted: /rules/validate says invalid, /risk/evaluate answers 422', async (t) => {
  const { app } = await rulesApp(t)
  const rules = [{ file: 'deep.json', content: deepRule(1500) }]
  const validate = await app.inject({ method: 'POST', url: '/rules/validate', headers: ADMIN, payload: { rules } })
  t.equal(validate.statusCode, 200)
  t.equal(validate.json().valid, false)
  t.equal(validate.json().errors.length, 1)
  t.match(validate.json().errors[0].message, /nested deeper than 24 levels/)
  const evaluate = await app.inject({ method: 'POST', url: '/risk/evaluate', headers: ADMIN, payload: { contact: {}, rules } })
  t.match(problem(t, evaluate, 422, 'invalid_rules').detail, /nested deeper than 24 levels/)
})

t.test('3. API_KEYS="," is a configuration error, not an open API', async (t) => {
  for (const env of [{ API_KEYS: ',' }, { NODE_ENV: 'production', ZOHO_MODE: 'sandbox', API_KEYS: ' , ' }, { ADMIN_API_KEYS: ',,' }]) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: /API_KEYS is set but lists no key/ }, JSON.stringify(env))
  }
})

t.test('4. NODE_ENV=production without Zoho credentials does not start, unless the sandbox is asked for', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production', ...KEYS }), ConfigError)
  const { server, config } = await openServer({ NODE_ENV: 'production', ZOHO_MODE: 'sandbox', LOG_LEVEL: 'silent', ...KEYS })
  t.teardown(() => server.close())
  t.equal(config.zoho.mode, 'sandbox')
  t.match((await server.inject({ url: '/readyz' })).json().checks.zoho.detail, /^bundled sandbox at /)
})

t.test("5. one caller asking for 120 made-up contacts spends its share of the Zoho budget, not everyone's", async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const POS = { 'x-api-key': 'pos-key-0123456789abcdef' }
  const env = {
    ...KEYS,
    API_KEYS: `${KEYS.API_KEYS},pos:pos-key-0123456789abcdef`,
    REDIS_URL: redis.url,
    ZOHO_REQUESTS_PER_MINUTE: '20',
    RATE_LIMIT_PER_MINUTE: '0',
    RULES_DIR: await contactOnlyRules(t),
  }
  // Two instances: the share is counted across them.
  const apps = [(await startApp(t, sandbox, { env })).app, (await startApp(t, sandbox, { env })).app]
  const made = Array.from({ length: 120 }, (_, i) => `99${String(i).padStart(10, '0')}`)
  const answers = []
  for (const [i, id] of made.entries())
    answers.push(await (apps[i % 2] as (typeof apps)[0]).inject({ url: `/contacts/${id}/risk`, headers: CALLER }))
  const statuses = answers.map((r) => r.statusCode)
  t.same(statuses.slice(0, 15), Array(15).fill(404), 'the budget of 20 less the reserve of ⌈20 / 4⌉ = 5: fifteen look-ups reach Zoho')
  t.same(statuses.slice(15), Array(105).fill(429), "the rest are this caller's own 429, not everyone's 503")
  t.equal(sandbox.stats.contactCalls, 15)
  const refused = answers[15] as (typeof answers)[0]
  t.match(problem(t, refused, 429, 'rate_limited'), {
    detail: /^this caller started 15 Zoho calls for uncached contacts of organization 10234695 in the last minute, its fair part being 10;/,
  })
  t.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 60, 'Retry-After says when')
  // Unknown ids are remembered: asking again costs nothing and is not refused.
  t.equal((await (apps[1] as (typeof apps)[0]).inject({ url: `/contacts/${made[0]}/risk`, headers: CALLER })).statusCode, 404)
  // Another caller's uncached contacts still get answers, on either instance, from the reserve.
  for (const app of apps) t.equal((await app.inject({ url: '/contacts/460000000031001/risk', headers: POS })).statusCode, 200)
  t.equal((await (apps[0] as (typeof apps)[0]).inject({ url: '/contacts/460000000026049/risk', headers: POS })).statusCode, 200)
  t.equal(sandbox.stats.contactCalls, 17)
  t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never refused us')
})

t.test('5. …with a single key, or without keys, there is no one to share with', async (t) => {
  const sandbox = await startSandbox(t)
  const rules = await contactOnlyRules(t)
  const env = { ZOHO_REQUESTS_PER_MINUTE: '4', RATE_LIMIT_PER_MINUTE: '0', RULES_DIR: rules }
  const single = (await startApp(t, sandbox, { env: { ...env, API_KEYS: KEYS.API_KEYS } })).app
  const open = (await startApp(t, sandbox, { env })).app
  for (const [app, headers, what] of [
    [single, CALLER, 'the one key may spend the whole budget'],
    [open, {}, 'without keys (development), neither is the budget split'],
  ] as const) {
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await app.inject({ url: `/contacts/97${i}${what.length}/risk`, headers })).statusCode)
    t.same(statuses, [404, 404, 404, 404], what)
  }
})

t.test('6. a large set with many fixture cases is checked off the event loop', async (t) => {
  const { app } = await rulesApp(t)
  const rules = Array.from({ length: 200 }, (_, i) => ({ file: `r${i}.json`, content: ruleFile(`r-${i}`, 1000 * i) }))
  const cases = Array.from({ length: MAX_FIXTURE_CASES }, (_, i) => ({
    name: `case ${i}`,
    contact: { outstanding_receivable_amount_bcy: 0 },
    expect: { decision: 'allow' },
  }))
  const fixtures = [{ file: 'many.json', content: { cases } }]
  // The validation runs off the event loop: /healthz keeps answering, and the loop is never held.
  const { result: validated, stallMs } = await longestStall(async () => {
    const validating = app.inject({ method: 'POST', url: '/rules/validate', headers: ADMIN, payload: { rules, fixtures } })
    let done = false
    void validating.then(() => {
      done = true
    })
    while (!done) {
      t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return validating
  })
  const result = validated.json()
  t.equal(result.fixtures.passed, MAX_FIXTURE_CASES, `${MAX_FIXTURE_CASES} cases × 200 rules checked`)
  t.ok(stallMs < STALL_MS, `the event loop was never held longer than ${Math.round(stallMs)} ms meanwhile`)
  const tooMany = await app.inject({
    method: 'POST',
    url: '/rules/validate',
    headers: ADMIN,
    payload: { rules, fixtures: [...fixtures, { file: 'more.json', content: { cases: cases.slice(0, 1) } }] },
  })
  t.same(
    tooMany.json().fixtures.failures.map((f: { file: string; message: string }) => [f.file, f.message]),
    [['tests/more.json', `more than ${MAX_FIXTURE_CASES} cases in the set's fixture files`]],
  )
})

t.test('7. the webhook secret never reaches a log line, however its name is encoded', async (t) => {
  const sandbox = await startSandbox(t)
  const logs = logCapture()
  const secret = 'webhook-secret-0123456789'
  const { app } = await startApp(t, sandbox, { env: { WEBHOOK_SECRET: secret, LOG_LEVEL: 'debug' }, logs })
  const statuses = []
  for (const url of [`/webhooks/zoho?%73ecret=${secret}`, `/webhooks/zoho?secret=${secret}`, `/webhooks/zoho?SECRET=${secret}`]) {
    statuses.push((await app.inject({ method: 'POST', url, payload: { contact_id: '460000000031001' } })).statusCode)
  }
  t.same(statuses, [200, 200, 401], 'the secret works percent-encoded; the parameter name is case-sensitive')
  await app.inject({ url: `/contacts/460000000031001/risk?organization_id=10234695&%6Bey=${secret}` })
  t.ok(logs.raw.length > 3)
  t.notOk(
    logs.raw.some((line) => line.includes(secret)),
    'no line carries the secret',
  )
})

t.test('8. without API_KEYS, each client address has its own rate-limit bucket', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { RATE_LIMIT_PER_MINUTE: '5' } })
  for (const remoteAddress of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
    const statuses = []
    for (let i = 0; i < 6; i++) statuses.push((await app.inject({ url: '/contacts/460000000031001/risk', remoteAddress })).statusCode)
    t.same(statuses, [200, 200, 200, 200, 200, 429], remoteAddress)
  }
})

t.test('9. a 50 MB rule file is refused without being read', async (t) => {
  const { app, dir, status } = await rulesApp(t)
  const big = ruleFile('big', 1)
  await writeFile(join(dir, 'big.json'), JSON.stringify({ ...big, description: 'x'.repeat(50 * 1024 * 1024) }))
  const errors = await rejected(t, app)
  t.same(errors, [{ file: 'big.json', path: '$', message: 'is 51201 KB; at most 64 KB' }])
  const body = (await app.inject({ url: '/rules', headers: CALLER })).body
  t.ok(body.length < 20_000, `GET /rules answers ${body.length} bytes`)
  t.equal((await status()).rules.length, 11)
})

t.test('10. links out of the rules folder are refused, without quoting or locating the target; removing one is noticed', async (t) => {
  const { app, dir, status } = await rulesApp(t)
  await symlink('/etc/passwd', join(dir, 'passwd.json'))
  let errors = await rejected(t, app)
  t.same(errors, [{ file: 'passwd.json', path: '$', message: 'is a link to a file outside the rules folder: refused' }])
  const shown = JSON.stringify((await status()).last_error)
  t.notMatch(shown, /root:|\/etc\/|\/work\/|\.tap\//, 'neither the file’s text nor an absolute path')
  await rm(join(dir, 'passwd.json'))
  await symlink(join(dir, 'missing.json'), join(dir, 'dangling.json'))
  errors = await rejected(t, app)
  t.same(errors, [{ file: 'dangling.json', path: '$', message: 'is a link to a file that does not exist' }])
  await rm(join(dir, 'dangling.json'))
  await eventually(async () => (await status()).last_error === null, 'the removal to be noticed by the watcher')
  // A link inside the folder (as Kubernetes mounts ConfigMaps) is a rule like any other.
  await writeFile(join(dir, '.data-review.json'), JSON.stringify(ruleFile('linked-review', 100_000)))
  await symlink(join(dir, '.data-review.json'), join(dir, 'linked-review.json'))
  t.equal((await app.rules.reload('test')).result, 'activated')
})

t.test('11. message placeholders are facts of the catalogue, not object properties', async (t) => {
  const { app } = await rulesApp(t)
  for (const placeholder of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const content = { ...ruleFile('odd', 1), event: { type: 'alert', params: { code: 'ODD', message: `{{${placeholder}}}` } } }
    const res = await app.inject({
      method: 'POST',
      url: '/rules/validate',
      headers: ADMIN,
      payload: { rules: [{ file: 'odd.json', content }] },
    })
    t.same(res.json().errors, [
      { file: 'odd.json', path: '$.event.params.message', message: `{{${placeholder}}} is not a fact the message can quote` },
    ])
  }
})

t.test('12. an address presenting wrong keys is throttled; its valid keys never are', async (t) => {
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

t.test('12. …a caller key calling an admin route 20 times locks out nobody', async (t) => {
  const { app } = await rulesApp(t)
  const from = (headers: Record<string, string>, url = '/rules/reload', method: 'GET' | 'POST' = 'POST') =>
    app.inject({ method, url, headers, remoteAddress: '10.9.9.9' })
  const refused = []
  for (let i = 0; i < 20; i++) refused.push((await from(CALLER)).statusCode)
  t.same(refused, Array(20).fill(403), 'a valid key where it may not go: 403, not a wrong key')
  t.equal((await from(ADMIN)).statusCode, 200, 'the admin console from the same address')
  t.equal((await from(CALLER, '/contacts/460000000031001/risk', 'GET')).statusCode, 200, 'the caller itself')
  t.equal((await from({ 'x-api-key': 'wrong-0123456789abcdef' })).statusCode, 401, 'the 403s counted nothing')
})

t.test('12. …behind a proxy named in TRUST_PROXY, each client is its own address; otherwise the peer is', async (t) => {
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

/** Sends raw bytes to a listening server and returns what it answered. */
async function raw(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  let answer = ''
  socket.on('data', (chunk) => {
    answer += chunk
  })
  socket.write(request)
  await new Promise((resolve) => socket.on('close', resolve))
  return answer
}

t.test('13. what the HTTP parser refuses is problem+json too, with a request id and security headers', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const requests = [
    'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n',
    'POST /contacts/1/risk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    'POST /contacts/1/risk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}',
  ]
  for (const request of requests) {
    const answer = await raw(port, request)
    t.match(answer, /^HTTP\/1\.1 400 Invalid request\r\n/, JSON.stringify(request.slice(0, 40)))
    t.match(answer, /\r\ncontent-type: application\/problem\+json\r\n/)
    t.match(answer, /\r\nx-request-id: [0-9a-f-]{36}\r\n/)
    t.match(answer, /\r\nx-content-type-options: nosniff\r\n/)
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
    t.same(Object.keys(body).sort(), ['code', 'detail', 'request_id', 'status', 'title', 'type'])
    t.equal(body.code, 'invalid_request')
  }
})

t.test('14. a known path with another method is 405 with Allow', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    const res = await app.inject({ method, url: '/contacts/460000000026049/risk' })
    problem(t, res, 405, 'method_not_allowed')
    t.equal(res.headers.allow, 'GET, POST')
  }
  problem(t, await app.inject({ method: 'PUT', url: '/nowhere' }), 404, 'not_found')
})

t.test('15. amounts are bounded: every computed fact stays a finite number', async (t) => {
  const { app } = await rulesApp(t)
  const evaluate = (contact: Record<string, unknown>, amount: number) =>
    app.inject({ method: 'POST', url: '/risk/evaluate', headers: ADMIN, payload: { contact, order: { amount } } })
  const huge = await evaluate({ outstanding_receivable_amount_bcy: 1e308 }, 1e15)
  t.match(problem(t, huge, 400, 'invalid_request').detail, /outstanding_receivable_amount_bcy/)
  const largest = await evaluate({ outstanding_receivable_amount_bcy: 1e15, credit_limit: 1e15 }, 1e15)
  t.equal(largest.statusCode, 200)
  t.equal(largest.json().facts.exposure_bcy, 2e15)
})

t.test('16. invalid UTF-8 inside a JSON string is refused', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  const payload = Buffer.concat([Buffer.from('{"order":{"amount":1,"reference":"SO-'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')])
  const res = await app.inject({
    method: 'POST',
    url: '/contacts/460000000031001/risk',
    headers: { 'content-type': 'application/json' },
    payload,
  })
  t.match(problem(t, res, 400, 'invalid_request').detail, /not valid UTF-8/)
  t.equal(sandbox.stats.contactCalls, 0, 'Zoho is not asked')
})

t.test('17. /readyz tells Redis full from Redis gone', async (t) => {
  const redis = await startRedis(t)
  await redis.client.connect()
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { REDIS_URL: redis.url } })
  await redis.client.config('SET', 'maxmemory', '1')
  await redis.client.config('SET', 'maxmemory-policy', 'noeviction')
  t.equal((await app.inject({ url: '/contacts/460000000031001/risk' })).statusCode, 200, 'decisions go on')
  const ready = (await app.inject({ url: '/readyz' })).json()
  t.equal(ready.status, 'degraded')
  t.match(ready.checks.redis.detail, /^full: Redis answers but refuses writes/)
  await redis.client.config('SET', 'maxmemory', '0')
  await redis.kill()
  await eventually(
    async () => /^unreachable/.test((await app.inject({ url: '/readyz' })).json().checks.redis.detail),
    'unreachable',
    15_000,
  )
})

t.test('18. on SIGTERM, /readyz answers 503 for SHUTDOWN_DELAY_MS before the listener closes', async (t) => {
  const sandbox = await startSandbox(t)
  const env = { ...process.env, ...sandboxEnv(sandbox, { PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DELAY_MS: '1500' }) }
  const child = spawn(process.execPath, ['dist/server.js'], { env })
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  await eventually(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.test(output), 'the server to listen', 20_000)
  const base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
  t.equal((await fetch(`${base}/readyz`)).status, 200)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const signalled = Date.now()
  child.kill('SIGTERM')
  await eventually(async () => (await fetch(`${base}/readyz`)).status === 503, '/readyz to say not ready')
  const notReady = (await (await fetch(`${base}/readyz`)).json()) as { status: string; checks: Record<string, { detail: string }> }
  t.equal(notReady.status, 'not_ready')
  t.equal(notReady.checks.shutdown?.detail, 'shutting down')
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'still answering while load balancers drain')
  t.equal(await exited, 0)
  t.ok(Date.now() - signalled >= 1500, 'the listener closed after the delay')
})

t.test('19. engines names the oldest Node the code runs on, and the image and CI use it', async (t) => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> }
  const oldest = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node)
  t.ok(oldest, `engines.node is a lower bound: ${pkg.engines.node}`)
  const [major, minor] = [Number(oldest?.[1]), Number(oldest?.[2])]
  // crypto.hash (src/plugins/access.ts) exists from Node 20.12 and 21.7.
  t.ok(major > 21 || (major === 21 && minor >= 7) || (major === 20 && minor >= 12), 'admits no Node without crypto.hash')
  t.match(pkg.devDependencies.node, new RegExp(`^\\^?${major}\\.`), 'npm scripts run on that line')
  t.match(await readFile('Dockerfile', 'utf8'), new RegExp(`FROM node:${major}-bookworm-slim`), 'and so does the image')
  const [runMajor, runMinor] = process.versions.node.split('.').map(Number) as [number, number]
  t.ok(runMajor > major || (runMajor === major && runMinor >= minor), `this run (Node ${process.versions.node}) is one engines admits`)
})
