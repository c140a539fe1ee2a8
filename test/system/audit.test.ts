import { spawnSync } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { exactSum } from '../../src/lib/decimal.js'
import { buildServer } from '../../src/server.js'
import { BACKTESTS_WAITING, createBacktester } from '../../src/services/rule-sets/backtest.js'
import { metricValue as metric, ORG, problem, sandboxEnv, startApp, startSandbox } from '../helpers/app.js'
import { ruleSetOf } from '../helpers/rules.js'

/**
 * The audit trail under hostile data (issue 31), one test per finding: each failed before the fix.
 * The contact is the one asked for, no client holds a socket by dripping, key names are unique,
 * HEAD decides nothing, amounts compare exactly, and the README says what the code does.
 * test/audit-history.test.ts has the history's findings (1–3).
 */
const SHOP = 'shop-key-0123456789abcdef'
const ADMIN = 'ops-key-0123456789abcdef0'
const KEYS = { API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${ADMIN}` }
const auth = (key: string) => ({ authorization: `Bearer ${key}` })

t.test('4. contact ids are canonical: a leading zero is a 400 and never reaches Zoho', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  for (const [method, url] of [
    ['GET', '/contacts/0460000000031013/risk'],
    ['POST', '/contacts/0460000000031013/risk'],
    ['GET', '/contacts/00/risk'],
    ['GET', '/contacts/0460000000031013/receivables'],
  ] as const) {
    const res = await app.inject({ method, url, headers: auth(ADMIN), ...(method === 'POST' ? { payload: {} } : {}) })
    t.match(problem(t, res, 400, 'invalid_contact_id').detail, /without a leading zero/, `${method} ${url}`)
  }
  problem(t, await app.inject({ url: '/decisions?contact_id=0460000000031013', headers: auth(ADMIN) }), 400, 'invalid_request')
  t.equal(sandbox.stats.contactCalls, 0, 'Zoho is not asked')
})

t.test('4. a Zoho answer naming another contact is a 502 upstream_error, never cached or decided on', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  // Asked for the customer 120 days overdue, "Zoho" sends one in good standing.
  const other = sandbox.organizations.get(ORG)?.get('460000000031001')
  sandbox.faults.contact.push({ status: 200, body: { code: 0, message: 'success', contact: other } })
  const wrong = await app.inject({ url: '/contacts/460000000031013/risk', headers: auth(SHOP) })
  t.match(problem(t, wrong, 502, 'upstream_error').detail, /contact_id 460000000031001, not the 460000000031013 asked for/)
  const right = await app.inject({ url: '/contacts/460000000031013/risk', headers: auth(SHOP) })
  t.equal(right.statusCode, 200)
  t.match(right.json(), { contact_id: '460000000031013', decision: 'block', contact: { source: 'zoho' } })
  t.equal(sandbox.stats.byContact.get('460000000031013'), 2, 'the wrong answer was not cached')
  await app.history.flush()
  t.same(
    (await app.inject({ url: '/decisions', headers: auth(ADMIN) })).json().decisions.map((d: { contact_id: string }) => d.contact_id),
    ['460000000031013'],
    'nothing was decided on the wrong contact',
  )
})

/** Opens `n` connections that each send the head of a request with a large body, then drip it a byte every 100 ms. */
async function drips(port: number, n: number, head: string): Promise<{ closed: Promise<string[]>; stop(): void }> {
  const sockets: Socket[] = []
  const answers: Promise<string>[] = []
  for (let i = 0; i < n; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk
    })
    answers.push(new Promise((resolve) => socket.on('close', () => resolve(answer))))
    socket.write(`${head}Content-Length: 10000\r\n\r\n{`)
    sockets.push(socket)
  }
  const timer = setInterval(() => {
    for (const socket of sockets) if (socket.writable) socket.write(' ')
  }, 100)
  const stop = () => {
    clearInterval(timer)
    for (const socket of sockets) socket.destroy()
  }
  return { closed: Promise.all(answers), stop }
}

t.test('5. 300 clients dripping a body are closed: at once after an early 4xx, within the request timeout otherwise', async (t) => {
  const sandbox = await startSandbox(t)
  const config = loadConfig(sandboxEnv(sandbox, KEYS))
  const requestTimeoutMs = 2000
  const app = await buildServer(config, { requestTimeoutMs })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const head = (key: string) =>
    `POST /contacts/460000000031001/risk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n`

  // A valid key: the body is waited for, up to the request timeout.
  const slow = await drips(port, 300, head(SHOP))
  t.teardown(slow.stop)
  const timed = await Promise.race([
    slow.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connections still open after 10 s')), 10_000)),
  ])
  t.ok(
    timed.every((a) => /^HTTP\/1\.1 408 /.test(a)),
    `each answered 408 request_timeout after ${requestTimeoutMs} ms and closed`,
  )
  // A refused key (then, for this address, too many refused keys): answered before the body.
  const refused = await drips(port, 300, head('a-wrong-key-0123456789'))
  t.teardown(refused.stop)
  const started = performance.now()
  const answers = await Promise.race([
    refused.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connections still open after 10 s')), 10_000)),
  ])
  t.comment(`300 refused drips closed in ${Math.round(performance.now() - started)} ms`)
  t.ok(
    answers.every((a) => /^HTTP\/1\.1 (401|429) /.test(a) && /\r\nconnection: close\r\n/i.test(a)),
    'each answered 401 (or 429 once the address is throttled) and closed',
  )

  t.equal(sandbox.stats.contactCalls, 0, 'no body arrived: nothing was decided')
})

t.test('6. the same key name as a caller and an admin is refused at start-up; the default deployment starts', async (t) => {
  const env = { ...process.env, PORT: '0', API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${ADMIN},shop:another-key-0123456789` }
  // A server that starts (and listens) instead is stopped after 20 s: the test then fails.
  const run = spawnSync(process.execPath, ['dist/server.js'], { env, encoding: 'utf8', timeout: 20_000 })
  t.equal(run.status, 1)
  t.equal(
    run.stderr,
    'creditgate: invalid configuration: ADMIN_API_KEYS the name "shop" is also in API_KEYS; every key needs a name of its own\n',
  )
  t.ok(loadConfig(KEYS), 'one caller key and one admin key, as documented')
})

t.test('7. HEAD on the decision route decides nothing, records nothing and asks Zoho nothing', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  const head = await app.inject({ method: 'HEAD', url: '/contacts/460000000031001/risk', headers: auth(SHOP) })
  t.equal(head.statusCode, 405)
  t.equal(head.headers.allow, 'GET, POST')
  await app.history.flush()
  t.equal(sandbox.stats.contactCalls, 0)
  t.same((await app.inject({ url: '/decisions', headers: auth(ADMIN) })).json().decisions, [])
  t.equal(await metric(app, 'creditgate_decisions_total{decision="allow"}'), 0)
})

t.test('8. an order 0.005 over the remaining credit is blocked; exactly the remaining credit is allowed', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  // Credit limit 40,000 with 38,000 outstanding: 2,000 remain.
  const get = async (amount: string) =>
    (await app.inject({ url: `/contacts/460000000031004/risk?order_amount=${amount}`, headers: auth(SHOP) })).json()
  const over = await get('2000.005')
  t.equal(over.decision, 'block')
  t.same(
    over.reasons.map((r: { code: string }) => r.code),
    ['CREDIT_LIMIT_EXCEEDED'],
  )
  t.equal(over.facts.exposure_bcy, 40000.005)
  t.equal(over.facts.exposure_with_orders_bcy, 40000.005)
  t.match(over.reasons[0].message, /^Exposure 40,000\.01 /)
  t.equal((await get('2000')).decision, 'allow')
  const post = await app.inject({
    method: 'POST',
    url: '/contacts/460000000031004/risk',
    headers: auth(SHOP),
    payload: { order: { amount: 2000.0001 } },
  })
  t.equal(post.json().decision, 'block', '0.0001 over, sent as JSON')
  const dryRun = await app.inject({
    method: 'POST',
    url: '/risk/evaluate',
    headers: auth(ADMIN),
    payload: { contact: { outstanding_receivable_amount_bcy: 38000.1, credit_limit: 40000 }, order: { amount: 1999.905 } },
  })
  t.equal(dryRun.json().decision, 'block', '38,000.10 + 1,999.905 is 40,000.005, over 40,000')
  t.equal(dryRun.json().facts.available_credit_bcy, 1999.9)
  t.equal(exactSum(0.1, 0.2), 0.3, 'decimals add as decimals')
  t.equal(exactSum(1 / 3, 1), 1 / 3 + 1, 'more than nine decimals: as floating point')
  t.equal(exactSum(1e15, 0.01), 1e15 + 0.01, 'too large for whole hundredths: as floating point')
  t.ok(Number.isNaN(exactSum(Number.NaN, 1)))
})

t.test('9. README and code agree: one backtest runs, two may wait, the next is 429', async (t) => {
  const readme = await (await import('node:fs/promises')).readFile('README.md', 'utf8')
  t.match(readme, /one backtest at a time, two more may wait \(then 429\)/)
  t.equal(BACKTESTS_WAITING, 2)
  const backtests = createBacktester()
  t.teardown(() => backtests.close())
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  // A backtest whose records have not all arrived yet: it runs until released.
  async function* records() {
    await held
    yield* []
  }
  const set = ruleSetOf([
    {
      name: 'big',
      conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 1 }] },
      type: 'block',
      code: 'BIG',
      message: 'big',
    },
  ])
  const running = [backtests.run(set, { records: records(), limit: 10 })]
  for (let i = 0; i < BACKTESTS_WAITING; i++) running.push(backtests.run(set, { records: records(), limit: 10 }))
  await t.rejects(backtests.run(set, { records: records(), limit: 10 }), { code: 'rate_limited' }, 'the fourth is refused')
  release()
  for (const result of await Promise.all(running)) t.equal(result.evaluated, 0, 'the running one and the two waiting complete')
})

t.test('9. README and code agree: JSON answers and the console may not be framed, pages only by themselves', async (t) => {
  const readme = await (await import('node:fs/promises')).readFile('README.md', 'utf8')
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  for (const url of ['/healthz', '/console']) {
    const res = await app.inject({ url })
    t.equal(res.headers['x-frame-options'], 'DENY', url)
    t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/, url)
  }
  t.equal((await app.inject({ url: '/problems' })).headers['x-frame-options'], 'SAMEORIGIN', 'pages: helmet’s own')
  t.match(readme, /JSON answers get [^.]*`X-Frame-Options: DENY`/)
  t.match(readme, /pages \(Swagger UI, `\/problems`\) get helmet's\sfull set \(`X-Frame-Options: SAMEORIGIN`\)/)
  t.match(readme, /the console a stricter one \(no inline style either\) with `X-Frame-Options: DENY`/)
})
