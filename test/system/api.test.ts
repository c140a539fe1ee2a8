import t from 'tap'
import { RiskDecisionSchema } from '../../src/domain/decision.js'
import { exactSum } from '../../src/lib/decimal.js'
import type { RuleSet } from '../../src/rules/rule-set.js'
import { openServer } from '../../src/server.js'
import { prepareRuleSetFrom } from '../../src/services/rule-sets/fixtures.js'
import { metricValue as metric, ORG, ORG2, problem, startApp, startSandbox } from '../helpers/app.js'

const SHOP = 'shop-key-0123456789abcdef'
const ADMIN = 'ops-key-0123456789abcdef0'
const KEYS = { API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${ADMIN}` }
const auth = (key: string) => ({ authorization: `Bearer ${key}` })

t.test('decisions for sandbox contacts', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)

  const block = await app.inject({ url: '/contacts/460000000026049/risk' })
  t.equal(block.statusCode, 200)
  const decision = block.json()
  t.match(decision, {
    decision_id: /^[0-9a-f-]{36}$/,
    decision: 'block',
    contact_id: '460000000026049',
    organization_id: ORG,
    facts: {
      contact_name: 'Acme Retail Pvt Ltd',
      status: 'active',
      currency_code: 'INR',
      outstanding_bcy: 62400,
      unused_credits_bcy: 1369.66,
      credit_limit: null,
      order_amount: 0,
      exposure_bcy: 62400,
      available_credit_bcy: null,
    },
    rules_version: /^sha256:[0-9a-f]{64}$/,
    contact: { source: 'zoho', age_seconds: 0 },
  })
  t.same(decision.reasons, [
    {
      rule: 'outstanding-over-50000',
      code: 'OUTSTANDING_OVER_LIMIT',
      severity: 'block',
      message: 'Outstanding receivables 62,400.00 exceed 50,000.00',
    },
  ])
  t.same(decision.alerts, [
    {
      rule: 'apply-unused-credits',
      code: 'APPLY_CREDITS_FIRST',
      message: '1,369.66 of unused credits: apply them before asking for payment',
    },
  ])
  t.notOk('trace' in decision, 'no trace unless asked')
  t.ok(RiskDecisionSchema.safeParse(decision).success, 'the answer matches the documented schema')
  t.notOk('contact' in decision.facts, 'the raw contact is not echoed')

  const again = (await app.inject({ url: '/contacts/460000000026049/risk' })).json()
  t.equal(again.contact.source, 'cache', 'the second answer comes from the cache')
  t.not(again.decision_id, decision.decision_id, 'every decision has its own id')
  t.equal(sandbox.stats.contactCalls, 1)

  const allow = (await app.inject({ url: '/contacts/460000000031001/risk' })).json()
  t.equal(allow.decision, 'allow')
  t.same(allow.reasons, [])
  t.same(allow.alerts, [])

  const credits = (await app.inject({ url: '/contacts/460000000031002/risk?order_amount=2500' })).json()
  t.match(credits, {
    decision: 'allow',
    facts: { order_amount: 2500, exposure_bcy: 10500 },
  })
  t.same(credits.reasons, [])
  t.same(
    credits.alerts.map((a: { code: string }) => a.code),
    ['APPLY_CREDITS_FIRST'],
  )

  const big = (await app.inject({ url: '/contacts/4600000000000310071/risk' })).json()
  t.equal(big.contact_id, '4600000000000310071', '19 digits intact')

  const post = await app.inject({
    method: 'POST',
    url: '/contacts/460000000031004/risk',
    payload: { order: { amount: 6000, currency: 'INR', reference: 'SO-1001' }, explain: true },
  })
  t.equal(post.statusCode, 200)
  const limited = post.json()
  t.match(limited, {
    decision: 'block',
    facts: { credit_limit: 40000, available_credit_bcy: 2000 },
  })
  t.same(
    limited.reasons.map((r: { code: string }) => r.code),
    ['CREDIT_LIMIT_EXCEEDED'],
  )
  t.equal(limited.trace.length, 11, 'explain traces every rule')
  t.ok(RiskDecisionSchema.safeParse(limited).success, 'with its trace, too')
  const limitTrace = limited.trace.find((r: { rule: string }) => r.rule === 'credit-limit-exceeded')
  t.equal(limitTrace?.conditions.length, 1, 'the rule has one condition')
  t.match(limitTrace, {
    fired: true,
    conditions: [
      {
        fact: 'exposure_with_orders_bcy',
        operator: 'greaterThan',
        value: { fact: 'credit_limit' },
        fact_value: 44000,
        compared_with: 40000,
        result: true,
      },
    ],
  })

  const second = (await app.inject({ url: `/contacts/470000000010002/risk?organization_id=${ORG2}` })).json()
  t.match(second, { decision: 'block', organization_id: ORG2 })
})

t.test('invalid input is a 400 and never reaches Zoho', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  const badIds = ['abc', '12345678901234567890', '-1', '1.5', '1e5', '%20', '%C3%A9', '0x10', '1%2F2', '１２３']
  for (const id of badIds) {
    const res = await app.inject({ url: `/contacts/${id}/risk` })
    problem(t, res, 400, 'invalid_contact_id')
  }
  const badQueries = [
    'order_amount=-1',
    'order_amount=NaN',
    'order_amount=Infinity',
    'order_amount=1e5',
    'order_amount=1,000',
    'order_amount=',
    'order_amount=1&order_amount=2',
    'order_ammount=5',
    'explain=yes',
    'organization_id=abc',
  ]
  for (const query of badQueries) {
    const res = await app.inject({ url: `/contacts/460000000031001/risk?${query}` })
    const body = problem(t, res, 400, 'invalid_request')
    t.match(body.detail, /^querystring/, query)
  }
  const badBodies: [string, string | undefined][] = [
    ['{"order":{"amount":-1}}', 'application/json'],
    ['{"order":{"amount":1e400}}', 'application/json'],
    ['{"order":{"amount":"100"}}', 'application/json'],
    ['{"order":{"amount":100,"currency":"rupees"}}', 'application/json'],
    ['{"order":{}}', 'application/json'],
    ['{"explain":"yes"}', 'application/json'],
    ['{"unknown":1}', 'application/json'],
    ['[1,2]', 'application/json'],
    ['{"order":', 'application/json'],
    ['', 'application/json'],
    ['{"order":{"amount":1}}', 'text/plain'],
    ['{"__proto__":{"admin":true}}', 'application/json'],
  ]
  for (const [payload, type] of badBodies) {
    const res = await app.inject({
      method: 'POST',
      url: '/contacts/460000000031001/risk',
      payload,
      headers: type ? { 'content-type': type } : {},
    })
    t.ok([400, 415].includes(res.statusCode), `${payload} as ${type}: ${res.statusCode}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
  }
  const forbidden = await app.inject({ url: '/contacts/460000000031001/risk?organization_id=99999' })
  t.match(problem(t, forbidden, 403, 'forbidden').detail, /organization 99999 is not one this service may ask about/)
  t.equal(sandbox.stats.contactCalls + sandbox.stats.tokenCalls, 0, 'the sandbox saw no request at all')
})

t.test('API keys: 401 without or with a wrong key; Bearer and X-API-Key both work', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: 'shop:shop-key-0123456789abcdef' } })
  const url = '/contacts/460000000031001/risk'
  const none = await app.inject({ url })
  problem(t, none, 401, 'unauthorized')
  t.equal(none.headers['www-authenticate'], 'Bearer')
  problem(t, await app.inject({ url, headers: { authorization: 'Bearer wrong-key-0123456789abcdef' } }), 401, 'unauthorized')
  problem(t, await app.inject({ url, headers: { 'x-api-key': 'shop-key-0123456789abcde' } }), 401, 'unauthorized')
  problem(t, await app.inject({ url, headers: { authorization: 'Basic c2hvcDpzaG9w' } }), 401, 'unauthorized')
  t.equal((await app.inject({ url, headers: { authorization: 'Bearer shop-key-0123456789abcdef' } })).statusCode, 200)
  t.equal((await app.inject({ url, headers: { 'x-api-key': 'shop-key-0123456789abcdef' } })).statusCode, 200)
  t.equal(sandbox.stats.contactCalls, 1, 'refused requests never reached Zoho')
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, '/healthz stays open')
  t.equal((await app.inject({ url: '/docs/json' })).statusCode, 200, '/docs stays open')
})

t.test('Zoho failures: 404, 502 and 503 with Retry-After', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  const missing = await app.inject({ url: '/contacts/460000000099999/risk' })
  t.match(problem(t, missing, 404, 'contact_not_found').detail, /460000000099999 does not exist/)
  const missingAgain = await app.inject({ url: '/contacts/460000000099999/risk' })
  problem(t, missingAgain, 404, 'contact_not_found')
  t.equal(sandbox.stats.byContact.get('460000000099999'), 1, 'not-found is cached briefly')

  sandbox.faults.contact.push({ status: 200, body: 'not json' })
  const unreadable = await app.inject({ url: '/contacts/460000000031001/risk' })
  t.match(problem(t, unreadable, 502, 'upstream_error').detail, /unreadable body/)
  const retried = await app.inject({ url: '/contacts/460000000031001/risk' })
  t.equal(retried.statusCode, 200, 'an unreadable body is never cached')

  sandbox.faults.down = true
  const down = await app.inject({ url: '/contacts/460000000031002/risk' })
  const body = problem(t, down, 503, 'upstream_unavailable')
  t.equal(down.headers['retry-after'], '5')
  t.match(body.detail, /did not answer after 3 attempts/)

  const elsewhere = await app.inject({ url: `/contacts/470000000010001/risk?organization_id=${ORG2}` })
  problem(t, elsewhere, 503, 'upstream_unavailable')
})

t.test('a stale copy is served, flagged, only when Zoho cannot answer', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { CONTACT_CACHE_TTL_SECONDS: '0' } })
  const fresh = (await app.inject({ url: '/contacts/460000000026049/risk' })).json()
  t.equal(fresh.contact.source, 'zoho')
  const refetched = (await app.inject({ url: '/contacts/460000000026049/risk' })).json()
  t.equal(refetched.contact.source, 'zoho', 'past the TTL Zoho is asked again while it answers')
  sandbox.faults.down = true
  const stale = await app.inject({ url: '/contacts/460000000026049/risk' })
  t.equal(stale.statusCode, 200)
  t.match(stale.json(), { decision: fresh.decision, contact: { source: 'stale' } })
  t.same(stale.json().reasons, fresh.reasons)
  problem(t, await app.inject({ url: '/contacts/460000000031001/risk' }), 503, 'upstream_unavailable')
})

t.test('FAIL_MODE=review answers review instead of 503', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { FAIL_MODE: 'review' } })
  sandbox.faults.down = true
  const res = await app.inject({ url: '/contacts/460000000031001/risk' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { decision: 'review', facts: null, contact: null })
  t.equal(res.json().reasons.length, 1)
  t.match(res.json().reasons[0], { code: 'CONTACT_UNAVAILABLE', severity: 'review', message: /Review the order by hand/ })
  t.ok(RiskDecisionSchema.safeParse(res.json()).success, 'a documented shape')
  sandbox.faults.down = false
  problem(t, await app.inject({ url: '/contacts/460000000099999/risk' }), 404, 'contact_not_found')
})

t.test('an incomplete evaluation is a 500, never a decision', async (t) => {
  const sandbox = await startSandbox(t)
  const loaded = await prepareRuleSetFrom('rules')
  if (!loaded.ok) throw new Error('rules')
  const [first, ...rest] = loaded.ruleSet.rules
  if (!first) throw new Error('no rules')
  // Two rules under one name: the engine yields five results for "four" rules.
  const broken: RuleSet = { ...loaded.ruleSet, rules: [first, { ...first, file: 'copy.json' }, ...rest] }
  const { app } = await startApp(t, sandbox, { deps: { ruleSet: broken } })
  const res = await app.inject({ url: '/contacts/460000000031001/risk' })
  const body = problem(t, res, 500, 'evaluation_failed')
  t.match(body.detail, /no decision was made/)
})

t.test('1,000 concurrent requests over mixed contacts decide as sequential ones do', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  const ids = [
    '460000000026049',
    '460000000031001',
    '460000000031002',
    '460000000031003',
    '460000000031004',
    '460000000031009',
    '460000000031010',
  ]
  // Everything but how old the cached copy is, which moves on with the clock on a busy machine.
  const essence = (body: Record<string, unknown>) =>
    JSON.stringify([body.decision, body.reasons, body.alerts, { ...(body.facts as object), contact_age_seconds: undefined }])
  const expected = new Map<string, string>()
  for (const id of ids) {
    for (const amount of [0, 6000])
      expected.set(`${id}:${amount}`, essence((await app.inject({ url: `/contacts/${id}/risk?order_amount=${amount}` })).json()))
  }
  const results = await Promise.all(
    Array.from({ length: 1000 }, async (_, i) => {
      const id = ids[i % ids.length] as string
      const amount = i % 2 === 0 ? 0 : 6000
      const res = await app.inject({ url: `/contacts/${id}/risk?order_amount=${amount}` })
      return essence(res.json()) === expected.get(`${id}:${amount}`)
    }),
  )
  t.equal(results.filter((ok) => !ok).length, 0)
})

t.test('without Zoho credentials the bundled sandbox answers', async (t) => {
  const { server: app } = await openServer({ LOG_LEVEL: 'silent' })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/contacts/460000000031002/risk' })
  t.match(res.json(), { decision: 'allow', contact: { source: 'zoho' } })
  t.same(
    res.json().alerts.map((a: { code: string }) => a.code),
    ['APPLY_CREDITS_FIRST'],
  )
  const ready = (await app.inject({ url: '/readyz' })).json()
  t.match(ready, { status: 'ready', checks: { zoho: { detail: 'bundled sandbox' } } })
})

t.test('unknown routes and methods are problem+json', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  problem(t, await app.inject({ url: '/nope' }), 404, 'not_found')
  const wrongMethod = await app.inject({ method: 'DELETE', url: '/contacts/1/risk' })
  problem(t, wrongMethod, 405, 'method_not_allowed')
  t.equal(wrongMethod.headers.allow, 'GET, POST', 'with the methods that are (no HEAD: a GET decides)')
  const res = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'order-42' } })
  t.equal(res.headers['x-request-id'], 'order-42', 'a caller’s request id is kept')
  const odd = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u0007' } })
  t.not(odd.headers['x-request-id'], 'bad id\u0007', 'an unsafe one is replaced')
})

// Issue 31, finding 4 (failed before its fix).
t.test('contact ids are canonical: a leading zero is a 400 and never reaches Zoho', async (t) => {
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

// Issue 31, finding 4 (failed before its fix).
t.test('a Zoho answer naming another contact is a 502 upstream_error, never cached or decided on', async (t) => {
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

// Issue 31, finding 7 (failed before its fix).
t.test('HEAD on the decision route decides nothing, records nothing and asks Zoho nothing', async (t) => {
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

// Issue 31, finding 8 (failed before its fix).
t.test('an order 0.005 over the remaining credit is blocked; exactly the remaining credit is allowed', async (t) => {
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
