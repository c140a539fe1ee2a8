import pino from 'pino'
import t, { type Test } from 'tap'
import { createMemoryReceivables } from '../src/adapters/memory-receivables.js'
import { budgetKeys } from '../src/adapters/redis/budget.js'
import { receivablesKeys } from '../src/adapters/redis/receivables.js'
import { createZohoBooks } from '../src/adapters/zoho/books.js'
import { createLocalBudget } from '../src/adapters/zoho/budget.js'
import { createLocalTokens, createTokenMinter } from '../src/adapters/zoho/tokens.js'
import { groupByCustomer, ListedInvoiceSchema, receivablesFacts, todayIn } from '../src/domain/receivables.js'
import { listedInvoice, listedSalesOrder, SANDBOX_CREDENTIALS } from '../src/sandbox/contacts.js'
import type { Sandbox } from '../src/sandbox/sandbox.js'
import { createReceivablesService } from '../src/services/receivables.js'
import { contactOnlyRules, eventually, ORG, ORG2, problem, startApp, startSandbox, type TestApp } from './helpers/app.js'
import { startRedis } from './helpers/redis.js'

/**
 * Receivables facts (issue 10): overdue ageing and open sales orders, from organization-wide
 * listings refreshed in the background, never made up.
 */

t.test('fact arithmetic: foreign currency, partial payment, due today and yesterday in the organization’s time zone', async (t) => {
  // 19:00 UTC on 24 November is 00:30 on 25 November in Kolkata.
  const now = Date.parse('2026-11-24T19:00:00Z')
  t.equal(todayIn('UTC', now), '2026-11-24')
  t.equal(todayIn('Asia/Kolkata', now), '2026-11-25')
  // Remembered per minute: the date still turns at midnight to the millisecond, in every zone.
  const midnight = Date.parse('2026-11-24T18:30:00.000Z') // 00:00 in Kolkata (+05:30)
  t.equal(todayIn('Asia/Kolkata', midnight - 1), '2026-11-24')
  t.equal(todayIn('Asia/Kolkata', midnight), '2026-11-25')
  t.equal(todayIn('Asia/Kolkata', midnight - 1), '2026-11-24', 'and back')
  t.equal(todayIn('Asia/Kathmandu', Date.parse('2026-11-24T18:14:59.999Z')), '2026-11-24') // +05:45
  t.equal(todayIn('Asia/Kathmandu', Date.parse('2026-11-24T18:15:00.000Z')), '2026-11-25')
  const invoices = [
    { invoice_id: '1', customer_id: '7', due_date: '2026-11-24', balance: 100, exchange_rate: 90, status: 'sent' }, // due "yesterday" in Kolkata
    { invoice_id: '2', customer_id: '7', due_date: '2026-11-25', balance: 500, exchange_rate: '', status: 'sent' }, // due today there
    { invoice_id: '3', customer_id: '7', due_date: '2026-10-01', balance: 250.5, exchange_rate: 1, status: 'partially_paid' },
    { invoice_id: '4', customer_id: '7', due_date: ' ', balance: 40, exchange_rate: 1, status: 'sent' }, // no due date
    { invoice_id: '5', customer_id: '7', due_date: '2026-09-01', balance: 0, exchange_rate: 1, status: 'overdue' }, // paid since
  ].map((i) => ListedInvoiceSchema.parse(i))
  const customer = groupByCustomer(invoices, []).get('7')
  if (!customer) throw new Error('no customer')
  t.same(
    customer.invoices.map((i) => [i.due_date, i.balance_bcy]),
    [
      ['2026-11-24', 9000],
      ['2026-11-25', 500],
      ['2026-10-01', 250.5],
      [null, 40],
    ],
    'balances in base currency; nothing owed, nothing kept',
  )
  t.same(receivablesFacts(customer, 10_000, 0, todayIn('Asia/Kolkata', now)), {
    overdue_bcy: 9250.5,
    oldest_overdue_days: 55,
    overdue_invoices: 2,
    overdue_ratio: 0.9251,
    open_orders_bcy: 0,
    exposure_with_orders_bcy: 10_000,
  })
  t.same(
    receivablesFacts(customer, 10_000, 0, todayIn('UTC', now)),
    {
      overdue_bcy: 250.5,
      oldest_overdue_days: 54,
      overdue_invoices: 1,
      overdue_ratio: 0.0251,
      open_orders_bcy: 0,
      exposure_with_orders_bcy: 10_000,
    },
    'in UTC the same invoice is due today: not past due',
  )
  const orders = groupByCustomer(
    [],
    [
      { salesorder_id: '8', customer_id: '7', total: 1000, exchange_rate: 1, status: 'open' },
      { salesorder_id: '9', customer_id: '7', total: 30, exchange_rate: 83.5, status: 'partially_invoiced' },
    ],
  ).get('7')
  if (!orders) throw new Error('no orders')
  t.same(receivablesFacts(orders, 0, 500, '2026-11-24'), {
    overdue_bcy: 0,
    oldest_overdue_days: 0,
    overdue_invoices: 0,
    overdue_ratio: 0,
    open_orders_bcy: 3505,
    exposure_with_orders_bcy: 4005,
  })
  t.equal(receivablesFacts(customer, 5000, 0, '2026-11-25').overdue_ratio, 1, 'the ratio never goes past 1')
})

/** Decisions for sandbox contacts with the shipped rules. */
async function decide(app: TestApp['app'], id: string, query = '') {
  const res = await app.inject({ url: `/contacts/${id}/risk${query}` })
  t.equal(res.statusCode, 200, `${id}${query}: ${res.body.slice(0, 200)}`)
  return res.json()
}
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code).sort()

t.test('the shipped rules on the sandbox: overdue review and block, credit hold, open orders in the exposure', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  const review = await decide(app, '460000000031012')
  t.equal(review.decision, 'review')
  t.same(review.reasons, [
    {
      rule: 'overdue-over-30-days',
      code: 'OVERDUE_OVER_30_DAYS',
      severity: 'review',
      message: 'The oldest unpaid invoice is 45 days past due (6,000.00 overdue)',
    },
  ])
  t.match(review.facts, { overdue_bcy: 6000, oldest_overdue_days: 45, overdue_invoices: 1, overdue_ratio: 0.3333, open_orders_bcy: 0 })
  t.match(review.receivables, { as_of: /^\d{4}-/, age_seconds: 0 })
  const block = await decide(app, '460000000031013')
  t.equal(block.decision, 'block')
  t.same(codes(block), ['OVERDUE_OVER_30_DAYS', 'OVERDUE_OVER_90_DAYS'])
  t.match(block.facts, { overdue_bcy: 24000, oldest_overdue_days: 120, overdue_invoices: 2, overdue_ratio: 1 })
  const hold = await decide(app, '460000000031014')
  t.same([hold.decision, codes(hold)], ['block', ['MANUAL_CREDIT_HOLD']])
  const withOrders = await decide(app, '460000000031015')
  t.same([withOrders.decision, withOrders.facts.open_orders_bcy, withOrders.facts.exposure_with_orders_bcy], ['allow', 8000, 38000])
  const tooMuch = await decide(app, '460000000031015', '?order_amount=2000.01')
  t.same(tooMuch.reasons, [
    {
      rule: 'credit-limit-exceeded',
      code: 'CREDIT_LIMIT_EXCEEDED',
      severity: 'block',
      message: 'Exposure 40,000.01 (outstanding 30,000.00 + open orders 8,000.00 + order 2,000.01) exceeds the credit limit of 40,000.00',
    },
  ])
  const euro = await decide(app, '460000000031016')
  t.same([euro.decision, euro.facts.overdue_bcy, euro.facts.oldest_overdue_days, euro.facts.overdue_invoices], ['allow', 18000, 12, 1])
  const good = await decide(app, '460000000031001')
  t.same([good.decision, good.facts.overdue_bcy, good.facts.oldest_overdue_days], ['allow', 0, 0])
  t.equal(sandbox.stats.byList.get('invoices'), 1, 'one invoice listing for the organization')
  t.equal(sandbox.stats.byList.get('salesorders'), 2, 'two sales-order listings (open, partially invoiced)')
  t.notOk(
    sandbox.stats.listRequests.some((r) => r.includes('customer_id')),
    'nothing per customer',
  )
})

t.test('a contact-only rule set makes no listing call, and its decisions carry no receivables', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: await contactOnlyRules(t) } })
  for (const id of ['460000000031012', '460000000031013', '460000000031001']) {
    const d = await decide(app, id)
    t.equal(d.receivables, null)
    t.equal(d.facts.overdue_bcy, null)
  }
  t.equal(sandbox.stats.listCalls, 0)
})

async function instances(t: Test, n: number, sandbox: Sandbox, redisUrl: string): Promise<TestApp[]> {
  const apps: TestApp[] = []
  for (let i = 0; i < n; i++)
    apps.push(
      await startApp(t, sandbox, {
        env: { REDIS_URL: redisUrl, WEBHOOK_SECRET: 'webhook-secret-0123456789', ZOHO_REQUESTS_PER_MINUTE: '100' },
      }),
    )
  return apps
}

t.test('three instances sharing Redis: 450 open invoices cost exactly 3 invoice-list calls, once', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const apps = await instances(t, 3, sandbox, redis.url)
  const answers = await Promise.all(
    apps.flatMap(({ app }) =>
      ['470000000010001', '470000000010002'].map((id) => app.inject({ url: `/contacts/${id}/risk?organization_id=${ORG2}` })),
    ),
  )
  t.same(
    answers.map((r) => r.statusCode),
    [200, 200, 200, 200, 200, 200],
  )
  t.equal(sandbox.stats.byList.get('invoices'), 3, '450 invoices, 200 a page: 3 pages, read by one instance')
  t.equal(sandbox.stats.byList.get('salesorders'), 2)
  t.same(
    sandbox.stats.listRequests.filter((r) => r.startsWith('/invoices')).map((r) => new URLSearchParams(r.split('?')[1]).get('page')),
    ['1', '2', '3'],
  )
  await redis.client.connect()
  t.equal(
    (await redis.client.hget(receivablesKeys(ORG2).snapshot, 'c:470000000010002')) !== null,
    true,
    'the snapshot is in Redis, per customer',
  )
  t.ok((await redis.client.hlen(receivablesKeys(ORG2).snapshot)) > 150, 'for every customer with open invoices')
})

t.test('a webhook for one customer re-reads that customer only', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const [a, b] = (await instances(t, 2, sandbox, redis.url)) as [TestApp, TestApp]
  t.equal((await decide(a.app, '460000000031001')).facts.oldest_overdue_days, 0)
  sandbox.resetStats()
  // The customer's invoice falls 40 days past due in Zoho (a reminder workflow fires the webhook).
  const invoices = sandbox.documents.get(ORG)?.invoices ?? []
  invoices.push(listedInvoice('4600000097777777777', '460000000031001', { dueInDays: -40, balance: 700 }, Date.now()))
  const hook = await b.app.inject({
    method: 'POST',
    url: '/webhooks/zoho',
    headers: { 'x-webhook-secret': 'webhook-secret-0123456789' },
    payload: { invoice: { invoice_id: '4600000097777777777', customer_id: '460000000031001', total: 700 } },
  })
  t.equal(hook.statusCode, 200)
  await eventually(async () => (await decide(a.app, '460000000031001')).decision === 'review', 'the other instance to see it')
  const after = await decide(a.app, '460000000031001')
  t.same([after.facts.oldest_overdue_days, after.facts.overdue_bcy, codes(after)], [40, 700, ['OVERDUE_OVER_30_DAYS']])
  t.same(
    sandbox.stats.listRequests.map((r) => new URLSearchParams(r.split('?')[1]).get('customer_id')),
    ['460000000031001', '460000000031001', '460000000031001'],
    'three calls, all for that customer',
  )
  t.equal(sandbox.stats.contactCalls, 1, 'and the contact itself is re-read once')
})

t.test('no listing read: never an allow computed from zeros', async (t) => {
  for (const [mode, status] of [
    ['closed', 503],
    ['review', 200],
  ] as const) {
    const sandbox = await startSandbox(t)
    const { app } = await startApp(t, sandbox, { env: { FAIL_MODE: mode } })
    // Every attempt of every listing fails (3 listings × 3 attempts).
    for (let i = 0; i < 9; i++) sandbox.faults.list.push({ status: 500, body: { code: 1000, message: 'Internal Error' } })
    const res = await app.inject({ url: '/contacts/460000000031013/risk' })
    t.equal(res.statusCode, status, mode)
    if (mode === 'closed') t.match(problem(t, res, 503, 'upstream_unavailable').detail, /no receivables of organization 10234695/)
    else {
      t.equal(res.json().decision, 'review')
      t.same(
        res.json().reasons.map((r: { code: string }) => r.code),
        ['RECEIVABLES_UNAVAILABLE'],
      )
    }
  }
})

t.test('a listing failing mid-paging keeps the last complete snapshot, flagged by its age', async (t) => {
  const sandbox = await startSandbox(t)
  let now = Date.now()
  const timeoutMs = 2000
  const zoho = createZohoBooks({
    apiBaseUrl: sandbox.apiBaseUrl,
    timeoutMs,
    tokens: createLocalTokens(createTokenMinter({ accountsUrl: sandbox.accountsUrl, credentials: SANDBOX_CREDENTIALS, timeoutMs })),
    budget: createLocalBudget({ requestsPerMinute: 100, maxConcurrency: 10, waitMs: timeoutMs }),
    log: pino({ level: 'silent' }),
    backoffMs: 1,
  })
  const service = createReceivablesService({
    source: zoho,
    store: createMemoryReceivables(),
    refreshSeconds: 600,
    staleSeconds: 3600,
    firstWaitMs: timeoutMs,
    log: pino({ level: 'silent' }),
    now: () => now,
  })
  const first = await service.forCustomer(ORG2, '470000000010002')
  t.equal(first.asOf, now)
  t.equal(sandbox.stats.byList.get('invoices'), 3)
  // Ten minutes later: page 1 of the invoices comes back, page 2 fails every time; meanwhile an invoice fell 100 days past due.
  sandbox.documents
    .get(ORG2)
    ?.invoices.unshift(listedInvoice('4700000098888888888', '470000000010002', { dueInDays: -100, balance: 5 }, now))
  const error = { status: 500, body: { code: 1000, message: 'Internal Error' } }
  const page1 = JSON.stringify({ code: 0, message: 'success', invoices: [], page_context: [{ page: 1, has_more_page: true }] })
  sandbox.faults.list.push({ status: 200, body: page1 }, error, error, error)
  now += 600_000
  await service.refreshDue()
  t.equal(sandbox.faults.list.length, 0, 'the refresh was tried, and failed on page 2')
  const kept = await service.forCustomer(ORG2, '470000000010002')
  t.equal(kept.asOf, first.asOf, 'the last complete snapshot still answers, with its age')
  t.same(kept.customer, first.customer, 'without anything of the half-read listing')
  t.same(service.ages(), { [ORG2]: 600 })
  // Past RECEIVABLES_STALE_SECONDS it is no longer used.
  now += 3_001_000
  const stale = await service.forCustomer(ORG2, '470000000010002').catch((err) => err)
  t.match(stale, { code: 'upstream_unavailable', detail: /are 36\d\d s old, more than RECEIVABLES_STALE_SECONDS/ })
  // Zoho answers again: the next refresh has the new invoice.
  await service.refreshDue()
  t.equal((await service.forCustomer(ORG2, '470000000010002')).customer.invoices.length, 2)
})

t.test('300 concurrent decisions over 100 cold contacts with the shipped rules: 100 contact calls, no listing per decision', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const contacts = sandbox.organizations.get(ORG) as Map<string, Record<string, unknown>>
  const template = contacts.get('460000000031001') as Record<string, unknown>
  const ids = Array.from({ length: 100 }, (_, i) => {
    const id = `56${String(i).padStart(13, '0')}`
    contacts.set(id, { ...template, contact_id: id })
    sandbox.documents
      .get(ORG)
      ?.salesorders.push(listedSalesOrder(`5700000000${String(i).padStart(9, '0')}`, id, { total: 100 + i }, Date.now()))
    return id
  })
  const apps = await instances(t, 3, sandbox, redis.url)
  await decide((apps[0] as TestApp).app, '460000000031001') // the receivables are read once, by whoever asks first
  const listings = sandbox.stats.listCalls
  t.equal(listings, 3)
  // A minute later (Zoho's and creditgate's minute both forgotten): 100 cold contacts at once.
  sandbox.resetLimits()
  await redis.client.connect()
  await redis.client.del(budgetKeys(ORG)[0] as string)
  sandbox.resetStats()
  const responses = await Promise.all(
    Array.from({ length: 300 }, (_, i) => (apps[i % 3] as TestApp).app.inject({ url: `/contacts/${ids[i % 100]}/risk` })),
  )
  t.same(new Set(responses.map((r) => r.statusCode)), new Set([200]), responses.find((r) => r.statusCode !== 200)?.body ?? '')
  t.equal(sandbox.stats.contactCalls, 100, 'one Zoho call per contact')
  t.equal(sandbox.stats.listCalls, 0, 'no listing call per decision')
  t.equal(responses[7]?.json().facts.open_orders_bcy, 107, 'each with its own open orders')
  t.notOk(sandbox.stats.byStatus.has(429))
})
