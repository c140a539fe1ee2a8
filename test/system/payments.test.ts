import { readFileSync } from 'node:fs'
import fc from 'fast-check'
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
import { loadConfig } from '../../src/config.js'
import { creditDateFacts, listingStart, PaidInvoiceSchema, paymentsByCustomer, suppliedPayments } from '../../src/domain/payments.js'
import { listedInvoice, SANDBOX_CREDENTIALS, zohoContact } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { createPaymentsService, type PaymentsSource } from '../../src/services/payments.js'
import { lacksFacts } from '../../src/services/rule-sets/compare.js'
import { eventually, metricValue, ORG, problem, startApp, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { ruleSetOf } from '../helpers/rules.js'

/** Payment-behaviour facts (issue 28): paid invoices of 12 months, a background pass, never made up. */

const DAY = 86_400_000
const TODAY = '2026-11-24'
const dayOf = (offset: number) => new Date(Date.parse(TODAY) + offset * DAY).toISOString().slice(0, 10)
const ADMIN = 'ops-key-0123456789abcdef0123456789'

t.test('the facts of generated paid-invoice histories match an independent computation', async (t) => {
  const invoice = fc.record({
    customer: fc.constantFrom('1', '2', '3'),
    // Invoice date, days before today; days from date to due; days from due to last payment (negative: early).
    age: fc.integer({ min: 0, max: 500 }),
    terms: fc.integer({ min: 0, max: 60 }),
    pay: fc.integer({ min: -40, max: 120 }),
    total: fc.integer({ min: 0, max: 1_000_000 }).map((c) => c / 100),
    rate: fc.constantFrom(1, 83.5, ''),
    // A payment date unset: closed by credit notes alone, or written off.
    unpaid: fc.boolean(),
    partlyOpen: fc.boolean(),
  })
  fc.assert(
    fc.property(fc.array(invoice, { maxLength: 60 }), (list) => {
      const listed = list.map((i, n) =>
        PaidInvoiceSchema.parse({
          invoice_id: String(n + 1),
          customer_id: i.customer,
          status: i.partlyOpen ? 'partially_paid' : 'paid',
          date: dayOf(-i.age),
          due_date: dayOf(-i.age + i.terms),
          last_payment_date: i.unpaid ? ' ' : dayOf(Math.min(0, -i.age + i.terms + i.pay)),
          total: i.total,
          balance: i.partlyOpen ? 1 : 0,
          exchange_rate: i.rate,
        }),
      )
      const got = paymentsByCustomer(listed, TODAY)
      for (const customer of ['1', '2', '3']) {
        // Independently: paid in full, with a payment date within the last 365 days.
        const rows = list
          .filter((i) => i.customer === customer && !i.unpaid && !i.partlyOpen)
          .map((i) => {
            const paidAt = Math.min(0, -i.age + i.terms + i.pay)
            return {
              ago: -paidAt,
              toPay: Math.max(0, paidAt + i.age),
              late: Math.max(0, paidAt - (-i.age + i.terms)),
              w: i.total * (typeof i.rate === 'number' ? i.rate : 1),
            }
          })
          .filter((r) => r.ago < 365)
        const facts = got.get(customer)?.facts
        if (rows.length === 0) {
          t.equal(facts, undefined)
          continue
        }
        const avg = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10
        const weighted = (rs: typeof rows) => {
          const w = rs.reduce((a, r) => a + r.w, 0)
          return w > 0 ? Math.round((rs.reduce((a, r) => a + r.w * r.late, 0) / w) * 10) / 10 : avg(rs.map((r) => r.late))
        }
        const recent = rows.filter((r) => r.ago < 91)
        const year = weighted(rows)
        const expected = {
          paid_invoices_12m: rows.length,
          avg_days_to_pay_12m: avg(rows.map((r) => r.toPay)),
          avg_days_late_12m: avg(rows.map((r) => r.late)),
          weighted_days_late_12m: year,
          days_late_trend: recent.length === 0 ? null : Math.round((weighted(recent) - year) * 10) / 10,
        }
        if (JSON.stringify(facts) !== JSON.stringify(expected)) {
          t.same(facts, expected, `customer ${customer}`)
          return false
        }
      }
      return true
    }),
    { numRuns: 300 },
  )
})

t.test('partial payments, credit notes, write-offs and the window’s edges, by the documented definitions', async (t) => {
  const listed = [
    // Paid in three instalments: counts once, on its last payment date (10 days late).
    {
      invoice_id: '1',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-60),
      due_date: dayOf(-30),
      last_payment_date: dayOf(-20),
      total: 300,
      balance: 0,
    },
    // Closed by a credit note alone (no payment date): not a payment.
    {
      invoice_id: '2',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-60),
      due_date: dayOf(-30),
      last_payment_date: ' ',
      total: 5000,
      balance: 0,
    },
    // Part paid, the rest credited: counts on its last payment date, with its whole total.
    {
      invoice_id: '3',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-100),
      due_date: dayOf(-70),
      last_payment_date: dayOf(-40),
      total: 100,
      balance: 0,
    },
    // Paid exactly 365 days ago: outside the 12 months; 364 days ago: inside.
    {
      invoice_id: '4',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-400),
      due_date: dayOf(-370),
      last_payment_date: dayOf(-365),
      total: 1,
      balance: 0,
    },
    {
      invoice_id: '5',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-400),
      due_date: dayOf(-370),
      last_payment_date: dayOf(-364),
      total: 0,
      balance: 0,
    },
    // Listed twice (a page boundary moved): counts once. Void: never.
    {
      invoice_id: '1',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-60),
      due_date: dayOf(-30),
      last_payment_date: dayOf(-20),
      total: 300,
      balance: 0,
    },
    {
      invoice_id: '6',
      customer_id: '7',
      status: 'void',
      date: dayOf(-60),
      due_date: dayOf(-30),
      last_payment_date: dayOf(-20),
      total: 999,
      balance: 0,
    },
    // Without an invoice date: nothing to count from. Without a due date (nor a balance field): due on its date.
    { invoice_id: '8', customer_id: '8', status: 'paid', date: ' ', due_date: dayOf(-30), last_payment_date: dayOf(-20), total: 5 },
    { invoice_id: '9', customer_id: '9', date: dayOf(-30), due_date: '', last_payment_date: dayOf(-20), total: 5, exchange_rate: '' },
    // Paid "tomorrow" (a clock ahead of the organization's zone): not yet.
    {
      invoice_id: '10',
      customer_id: '9',
      status: 'paid',
      date: dayOf(-30),
      due_date: dayOf(-1),
      last_payment_date: dayOf(1),
      total: 5,
      balance: 0,
    },
  ].map((i) => PaidInvoiceSchema.parse(i))
  const customer = paymentsByCustomer(listed, TODAY).get('7')
  t.same(customer?.facts, {
    paid_invoices_12m: 3,
    avg_days_to_pay_12m: 45.3, // (40 + 60 + 36) / 3
    avg_days_late_12m: 15.3, // (10 + 30 + 6) / 3
    weighted_days_late_12m: 15, // (300 × 10 + 100 × 30 + 0 × 6) / 400
    days_late_trend: 0, // the last 91 days: invoices 1 and 3, the same 15
  })
  const byCustomer = paymentsByCustomer(listed, TODAY)
  t.equal(byCustomer.has('8'), false)
  t.match(byCustomer.get('9')?.facts, { paid_invoices_12m: 1, avg_days_to_pay_12m: 10, avg_days_late_12m: 10 })
  t.equal(customer?.months.length, 12)
  t.same(customer?.months.at(-1), { month: '2026-11', invoices: 1, avg_days_to_pay: 40 })
  t.equal(listingStart(TODAY), dayOf(-455), 'the listing reads invoices dated up to 455 days back')
  t.same(suppliedPayments({ weighted_days_late_12m: 20 }), {
    paid_invoices_12m: 0,
    avg_days_to_pay_12m: null,
    avg_days_late_12m: null,
    weighted_days_late_12m: 20,
    days_late_trend: null,
  })
})

t.test('review dates and limit validity from custom fields', async (t) => {
  const contact = (fields: Record<string, unknown>) => zohoContact('1', 'X', fields) as never
  t.same(creditDateFacts(contact({}), TODAY), { credit_review_overdue_days: null, credit_limit_expired: false })
  const hashed = contact({
    custom_field_hash: { cf_credit_review_date_unformatted: '2026-11-20', cf_credit_limit_until_unformatted: '2026-11-23' },
  })
  t.same(creditDateFacts(hashed, TODAY), { credit_review_overdue_days: 4, credit_limit_expired: true })
  const listed = contact({
    custom_fields: [
      { api_name: 'cf_next_review', value: '2026-12-01' },
      { api_name: 'cf_until', value: TODAY },
    ],
  })
  t.same(creditDateFacts(listed, TODAY, { reviewDate: 'cf_next_review', limitUntil: 'cf_until' }), {
    credit_review_overdue_days: 0,
    credit_limit_expired: false,
  })
  for (const bad of ['2026-02-30', '2026-13-45', '15 Jan 2026']) {
    const facts = creditDateFacts(contact({ custom_fields: [{ api_name: 'cf_credit_review_date', value: bad }] }), TODAY)
    t.equal(facts.credit_review_overdue_days, null, bad)
  }
})

t.test('configuration: refresh and stale bounds, custom field names', async (t) => {
  const base = { ZOHO_MODE: 'sandbox' }
  t.same(loadConfig(base).payments, {
    refreshSeconds: 86_400,
    staleSeconds: 259_200,
    fields: { reviewDate: 'cf_credit_review_date', limitUntil: 'cf_credit_limit_until' },
  })
  t.throws(
    () => loadConfig({ ...base, PAYMENT_FACTS_REFRESH_SECONDS: '7200', PAYMENT_FACTS_STALE_SECONDS: '3600' }),
    /PAYMENT_FACTS_STALE_SECONDS must not be less/,
  )
  t.throws(() => loadConfig({ ...base, PAYMENT_FACTS_REFRESH_SECONDS: '60' }), /PAYMENT_FACTS_REFRESH_SECONDS/)
  t.throws(() => loadConfig({ ...base, CREDIT_REVIEW_DATE_FIELD: 'review date' }), /CREDIT_REVIEW_DATE_FIELD.*api_name/)
})

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

t.test('lacksFacts: payment facts a deciding set did not read are not compared; read ones are, nulls included', async (t) => {
  const rules = ruleSetOf([
    {
      name: 'late',
      conditions: { all: [{ fact: 'avg_days_late_12m', operator: 'greaterThan', value: 1 }] },
      type: 'review',
      code: 'LATE',
      message: 'late',
    },
  ])
  t.equal(lacksFacts(rules, { avg_days_late_12m: null, paid_invoices_12m: null }), true, 'not read')
  t.equal(lacksFacts(rules, { avg_days_late_12m: null, paid_invoices_12m: 0 }), false, 'read: nothing paid')
  const utilization = ruleSetOf([
    {
      name: 'u',
      conditions: { all: [{ fact: 'credit_limit_utilization', operator: 'greaterThan', value: 0.8 }] },
      type: 'alert',
      code: 'UTIL_HIGH',
      message: 'u',
    },
  ])
  t.equal(lacksFacts(utilization, { credit_limit_utilization: null, exposure_with_orders_bcy: null }), true)
  t.equal(lacksFacts(utilization, { credit_limit_utilization: null, exposure_with_orders_bcy: 100 }), false, 'read: no credit limit')
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
