import { readFileSync } from 'node:fs'
import pino from 'pino'
import t from 'tap'
import { createLocalBudget } from '../../src/adapters/local/budget.js'
import { createLocalPayments } from '../../src/adapters/local/payments.js'
import { createLocalTokens } from '../../src/adapters/local/tokens.js'
import { connectRedis } from '../../src/adapters/redis/link.js'
import { createRedisPayments, paymentsKeys } from '../../src/adapters/redis/payments.js'
import { createZohoBooks } from '../../src/adapters/zoho/books.js'
import { BudgetRefused } from '../../src/adapters/zoho/ports.js'
import { createTokenMinter } from '../../src/adapters/zoho/tokens.js'
import { listingStart } from '../../src/domain/payments.js'
import { listedInvoice, SANDBOX_CREDENTIALS } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { createPaymentsService, type PaymentsSource } from '../../src/services/payments.js'
import { eventually, metricValue, ORG, problem, startApp, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

/** Payment-behaviour facts (issue 28) fetched: paid invoices of 12 months, a background pass, never made up. Their computation: unit/payment-facts.test.ts. */

const DAY = 86_400_000
const ADMIN = 'ops-key-0123456789abcdef0123456789'

/** n paid invoices of the sandbox's first organization, 40 customers, each paid 5 days late. */
function paidInvoices(sandbox: Sandbox, n: number) {
  const invoices = sandbox.documents.get(ORG)?.invoices ?? []
  const now = Date.now()
  for (let i = 0; i < n; i++) {
    const customer = i % 40 === 0 ? '460000000031001' : `4600000${String(900 + (i % 40)).padStart(8, '0')}`
    const due = -10 - (i % 300)
    invoices.push({
      ...listedInvoice(`46000001${String(i).padStart(10, '0')}`, customer, { dueInDays: due, balance: 0, total: 100 }, now),
      status: 'paid',
      last_payment_date: new Date(now + (due + 5) * DAY).toISOString().slice(0, 10),
    })
  }
}

const paidCalls = (sandbox: Sandbox) => sandbox.stats.listRequests.filter((r) => r.includes('Status.Paid')).length

t.test('5,000 paid invoices over 25 pages: one pass for three instances, exactly 25 listing calls, never per decision', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const existing = (sandbox.documents.get(ORG)?.invoices ?? []).filter((i) => i.status === 'paid').length
  paidInvoices(sandbox, 5000 - existing)
  const apps = []
  for (let i = 0; i < 3; i++)
    apps.push(
      (await startApp(t, sandbox, { env: { REDIS_URL: redis.url, ZOHO_REQUESTS_PER_MINUTE: '100', ZOHO_TIMEOUT_MS: '20000' } })).app,
    )
  const first = await Promise.all(apps.map((app) => app.inject({ url: '/contacts/460000000031001/risk' })))
  for (const r of first) if (r.statusCode !== 200) t.comment(r.body)
  t.same(
    first.map((r) => r.statusCode),
    [200, 200, 200],
  )
  t.equal(paidCalls(sandbox), 25, '5,000 paid invoices, 200 a page: 25 calls, by one instance')
  t.ok(
    sandbox.stats.listRequests.every(
      (r) => !r.includes('Status.Paid') || r.includes(`date_start=${listingStart(new Date().toISOString().slice(0, 10))}`),
    ),
  )
  for (const r of first) {
    t.equal(r.json().facts.paid_invoices_12m > 0, true)
    t.match(r.json().payments, { age_seconds: Number })
  }
  // More decisions, on every instance, for other customers: no listing call of their own.
  await Promise.all(apps.flatMap((app) => ['460000000031017', '460000000031018'].map((id) => app.inject({ url: `/contacts/${id}/risk` }))))
  t.equal(paidCalls(sandbox), 25, 'never per decision')
  await redis.client.connect()
  t.ok((await redis.client.get(paymentsKeys(ORG).snapshot))?.includes('"460000000031017"'), 'the snapshot is in Redis for every instance')
  const usage = (await apps[0]?.inject({ url: '/zoho/budget', headers: { authorization: `Bearer ${ADMIN}` } }))?.statusCode
  t.ok(usage === 200 || usage === 403)
})

/** The payment service on its own against the sandbox, on a clock the test moves. */
function standalone(sandbox: Sandbox, clock: { now: number }, wrap: (source: PaymentsSource) => PaymentsSource = (source) => source) {
  const zoho = createZohoBooks({
    apiBaseUrl: sandbox.apiBaseUrl,
    timeoutMs: 2000,
    tokens: createLocalTokens(createTokenMinter({ accountsUrl: sandbox.accountsUrl, credentials: SANDBOX_CREDENTIALS, timeoutMs: 2000 })),
    budget: createLocalBudget({ requestsPerMinute: 100, maxConcurrency: 10, waitMs: 2000 }),
    log: pino({ level: 'silent' }),
    backoffMs: 1,
    maxAttempts: 1,
  })
  let inUse = true
  const results: string[] = []
  const service = createPaymentsService({
    source: wrap(zoho),
    store: createLocalPayments(),
    refreshSeconds: 3600,
    staleSeconds: 7200,
    timeZone: 'UTC',
    log: pino({ level: 'silent' }),
    firstWaitMs: 2000,
    inUse: () => inUse,
    onRefresh: (r) => results.push(r),
    now: () => clock.now,
  })
  return { service, results, setInUse: (v: boolean) => (inUse = v) }
}

t.test('a failed pass keeps the last complete facts, flagged by age; past the stale bound the decision follows FAIL_MODE', async (t) => {
  const sandbox = await startSandbox(t)
  const clock = { now: Date.now() }
  const { service, results, setInUse } = standalone(sandbox, clock)
  t.same(service.ages(), {})
  const first = await service.forCustomer(ORG, '460000000031017')
  t.equal(first.customer?.facts.paid_invoices_12m, 12)
  t.equal((await service.forCustomer(ORG, '460000000099999')).customer, undefined, 'no paid invoice: no facts, not zeros made up')
  clock.now += 3600_000
  sandbox.faults.list.push({ status: 500, body: { code: 1000, message: 'Internal Error' } })
  await service.refreshDue()
  t.same(results, ['ok', 'failed'])
  const kept = await service.forCustomer(ORG, '460000000031017')
  t.equal(kept.asOf, first.asOf, 'the last complete snapshot stays')
  t.same(service.ages(), { [ORG]: 3600 })
  // While no rule set reads payment facts, nothing is read.
  setInUse(false)
  const calls = sandbox.stats.listCalls
  await service.refreshDue()
  t.equal(sandbox.stats.listCalls, calls)
  setInUse(true)
  clock.now += 3601_000
  sandbox.faults.list.push({ status: 500, body: { code: 1000, message: 'Internal Error' } })
  await service.refreshDue()
  await t.rejects(service.forCustomer(ORG, '460000000031017'), { code: 'upstream_unavailable', detail: /PAYMENT_FACTS_STALE_SECONDS/ })
  await service.refreshDue()
  t.equal((await service.forCustomer(ORG, '460000000031017')).asOf, clock.now, 'the next pass that works is used again')
  service.stop()
  await service.refreshDue()
  t.same(results, ['ok', 'failed', 'failed', 'ok'])
})

t.test('no paid invoices read: FAIL_MODE decides, never an allow from zeros', async (t) => {
  for (const [mode, status] of [
    ['closed', 503],
    ['review', 200],
  ] as const) {
    const sandbox = await startSandbox(t)
    // Only the payment rule: every attempt at the paid-invoice listing fails.
    const dir = t.testdir({ 'pays-late.json': readFileSync('rules/pays-late.json', 'utf8') })
    const { app } = await startApp(t, sandbox, { env: { FAIL_MODE: mode, RULES_DIR: dir } })
    for (let i = 0; i < 3; i++) sandbox.faults.list.push({ status: 500, body: { code: 1000, message: 'Internal Error' } })
    const res = await app.inject({ url: '/contacts/460000000031017/risk' })
    if (mode === 'closed') t.match(problem(t, res, status, 'upstream_unavailable').detail, /payment facts/)
    else {
      t.equal(res.statusCode, status)
      t.same([res.json().decision, res.json().reasons[0].code, res.json().payments], ['review', 'PAYMENTS_UNAVAILABLE', null])
    }
  }
})

t.test('GET /contacts/{id}/payments without payment rules: the dates only, no paid invoice read', async (t) => {
  const sandbox = await startSandbox(t)
  const dir = t.testdir({ 'credit-limit-expired.json': readFileSync('rules/credit-limit-expired.json', 'utf8') })
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN}`, RULES_DIR: dir } })
  const res = (await app.inject({ url: '/contacts/460000000031020/payments', headers: { authorization: `Bearer ${ADMIN}` } })).json()
  t.same([res.payments, res.credit_limit_expired], [null, true])
  t.match(JSON.stringify((await app.inject({ url: '/readyz' })).json()), /not in use: no rule reads payment facts yet/)
  t.equal(paidCalls(sandbox), 0)
})

t.test('GET /contacts/{id}/payments: the facts, the months, the review date and limit validity', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN}` } })
  const auth = { authorization: `Bearer ${ADMIN}` }
  const late = await app.inject({ url: '/contacts/460000000031018/payments', headers: auth })
  t.equal(late.statusCode, 200)
  t.match(late.json().payments, { paid_invoices_12m: 12, weighted_days_late_12m: 16.5 })
  t.ok(late.json().payments.days_late_trend > 20, 'getting worse')
  t.equal(late.json().payments.months.length, 12)
  const review = (await app.inject({ url: '/contacts/460000000031019/payments', headers: auth })).json()
  t.equal(review.credit_review_date, '2025-06-30')
  t.ok(review.credit_review_overdue_days > 0)
  const expired = (await app.inject({ url: '/contacts/460000000031020/payments', headers: auth })).json()
  t.same([expired.credit_limit_until, expired.credit_limit_expired], ['2025-12-31', true])
  const decided = (await app.inject({ url: '/contacts/460000000031020/risk' })).json()
  t.same(
    decided.reasons.map((r: { code: string }) => r.code),
    ['CREDIT_LIMIT_EXPIRED'],
  )
  t.same(
    decided.alerts.map((r: { code: string }) => r.code),
    ['UTILIZATION_OVER_80'],
  )
  t.equal(decided.facts.credit_limit_utilization, 0.85)
  problem(t, await app.inject({ url: '/contacts/abc/payments', headers: auth }), 400, 'invalid_contact_id')
  const ready = (await app.inject({ url: '/readyz' })).json()
  t.match(JSON.stringify(ready), /payments/)
  t.equal((await metricValue(app, `creditgate_payment_facts_age_seconds{organization="${ORG}"}`)) !== undefined, true)
  t.equal(await metricValue(app, 'creditgate_payment_facts_refreshes_total{result="ok"}'), 1)
  problem(t, await app.inject({ url: '/contacts/460000000031018/payments' }), 401, 'unauthorized')
})

t.test('a page the budget refuses waits for room and is asked again; stop() ends the wait', async (t) => {
  const sandbox = await startSandbox(t)
  paidInvoices(sandbox, 450)
  const asked: number[] = []
  let refuse = new Set([2])
  const refusing = (source: PaymentsSource): PaymentsSource => ({
    async paidInvoicesPage(org, since, page, listing) {
      asked.push(page)
      if (refuse.delete(page))
        throw new BudgetRefused(org, { ok: false, reason: 'spent', limit: 67, retryAfterMs: refuse.size > 0 ? 60_000 : 20 })
      t.equal(listing?.background, true, 'every page a background call')
      return source.paidInvoicesPage(org, since, page, listing)
    },
  })
  const clock = { now: Date.now() }
  const { service, results } = standalone(sandbox, clock, refusing)
  const facts = await service.forCustomer(ORG, '460000000031001')
  t.ok((facts.customer?.facts.paid_invoices_12m ?? 0) > 12)
  t.same(asked, [1, 2, 2, 3], 'page 2 asked again after the wait; no page read twice')
  t.same(results, ['ok'])
  // A refusal with a long wait: stop() ends it, the pass fails, the last facts stay.
  refuse = new Set([1, 99])
  clock.now += 3600_000
  const pass = service.refreshDue()
  await new Promise((r) => setTimeout(r, 50))
  service.stop()
  await pass
  t.same(results, ['ok', 'failed'])
  t.equal((await service.forCustomer(ORG, '460000000031001')).asOf, facts.asOf)
})

t.test('more than 200 pages: the pass stops there and fails, keeping nothing made up', async (t) => {
  const sandbox = await startSandbox(t)
  const endless: PaymentsSource = { paidInvoicesPage: async () => ({ items: [], more: true }) }
  const { service, results } = standalone(sandbox, { now: Date.now() }, () => endless)
  await t.rejects(service.forCustomer(ORG, '460000000031001'), { code: 'upstream_unavailable' })
  t.same(results, ['failed'])
  t.same(service.ages(), { [ORG]: null }, 'kept, never read')
})

t.test('two instances on one store: the second finds the first’s pass and lists nothing', async (t) => {
  const store = createLocalPayments()
  let pages = 0
  const source: PaymentsSource = {
    async paidInvoicesPage() {
      pages++
      return { items: [], more: false }
    },
  }
  const make = () =>
    createPaymentsService({
      source,
      store,
      refreshSeconds: 3600,
      staleSeconds: 7200,
      timeZone: 'UTC',
      log: pino({ level: 'silent' }),
      firstWaitMs: 1000,
      inUse: () => true,
    })
  await make().forCustomer(ORG, '1')
  const second = make()
  t.equal((await second.forCustomer(ORG, '1')).customer, undefined)
  await second.refreshDue()
  t.equal(pages, 1, 'one pass for both')
})

t.test(
  'the Redis store: one value per organization, told to every instance, unreadable values ignored, the in-process twin while Redis is down',
  async (t) => {
    const redis = await startRedis(t)
    const silent = pino({ level: 'silent' })
    const [a, b] = await Promise.all([connectRedis(redis.url, silent), connectRedis(redis.url, silent)])
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const storeA = createRedisPayments(a, createLocalPayments())
    const localB = createLocalPayments()
    const storeB = createRedisPayments(b, localB)
    const told: string[] = []
    storeB.onChange((org) => told.push(org))
    const customer = {
      facts: { paid_invoices_12m: 1, avg_days_to_pay_12m: 3, avg_days_late_12m: 0, weighted_days_late_12m: 0, days_late_trend: null },
      months: [],
    }
    await storeA.replace(ORG, { as_of: 1000, customers: new Map([['7', customer]]) })
    t.same(await storeB.read(ORG), { as_of: 1000, customers: new Map([['7', customer]]) })
    await eventually(() => told.includes(ORG), 'the other instance to be told')
    const release = await storeA.lock(ORG)
    t.ok(release)
    t.equal(await storeB.lock(ORG), undefined, 'one pass at a time across instances')
    await release?.()
    const again = await storeB.lock(ORG)
    t.ok(again, 'free once released')
    await again?.()
    await redis.client.connect()
    for (const bad of ['not json', '{"as_of":0,"customers":{}}', '{"as_of":5,"customers":null}']) {
      await redis.client.set(paymentsKeys(ORG).snapshot, bad)
      t.equal(await storeB.read(ORG), undefined, `unreadable: ${bad}`)
    }
    t.equal(await storeB.read('999'), undefined, 'none stored')
    // Redis gone: the in-process twin answers, and a replace still lands there.
    await redis.kill()
    await eventually(() => !b.up, 'the link to see Redis gone')
    await storeB.replace(ORG, { as_of: 2000, customers: new Map() })
    t.equal((await storeB.read(ORG))?.as_of, 2000)
    t.equal((await localB.read(ORG))?.as_of, 2000)
    const local = await storeB.lock(ORG)
    t.ok(local, 'the twin locks too')
    t.equal(await localB.lock(ORG), undefined)
    await local?.()
  },
)
