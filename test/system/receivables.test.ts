import pino from 'pino'
import t, { type Test } from 'tap'
import { createLocalBudget } from '../../src/adapters/local/budget.js'
import { createLocalReceivables } from '../../src/adapters/local/receivables.js'
import { createLocalTokens } from '../../src/adapters/local/tokens.js'
import { budgetKeys } from '../../src/adapters/redis/budget.js'
import { receivablesKeys } from '../../src/adapters/redis/receivables.js'
import { createZohoBooks } from '../../src/adapters/zoho/books.js'
import type { ZohoBudget } from '../../src/adapters/zoho/ports.js'
import { BudgetRefused } from '../../src/adapters/zoho/ports.js'
import { createTokenMinter } from '../../src/adapters/zoho/tokens.js'
import { groupByCustomer, ListedInvoiceSchema, receivablesFacts, todayIn } from '../../src/domain/receivables.js'
import { listedInvoice, listedSalesOrder, SANDBOX_CREDENTIALS } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { createReceivablesService, type ReceivablesOptions } from '../../src/services/receivables.js'
import {
  addContacts,
  contactOnlyRules,
  eventually,
  ORG,
  ORG2,
  problem,
  startApp,
  startSandbox,
  type TestApp,
  withoutPaymentRules,
} from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

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
    reserved_bcy: 0,
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
      reserved_bcy: 0,
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
    reserved_bcy: 0,
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
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: await withoutPaymentRules(t) } })
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
      message:
        'Exposure 40,000.01 (outstanding 30,000.00 + open orders 8,000.00 + reserved 0.00 + order 2,000.01) exceeds the credit limit of 40,000.00',
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

async function instances(t: Test, n: number, sandbox: Sandbox, redisUrl: string, env: Record<string, string> = {}): Promise<TestApp[]> {
  const apps: TestApp[] = []
  for (let i = 0; i < n; i++)
    apps.push(
      await startApp(t, sandbox, {
        env: {
          REDIS_URL: redisUrl,
          WEBHOOK_SECRET: 'webhook-secret-0123456789',
          ZOHO_REQUESTS_PER_MINUTE: '100',
          RULES_DIR: await withoutPaymentRules(t),
          ...env,
        },
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
    const { app } = await startApp(t, sandbox, { env: { FAIL_MODE: mode, RULES_DIR: await withoutPaymentRules(t) } })
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

/** The receivables service on its own against the sandbox's listings (webhook reads gathered for 20 ms, a customer re-read after 300 ms). */
function standalone(t: Test, sandbox: Sandbox, options: Partial<ReceivablesOptions> & { budget?: ZohoBudget } = {}) {
  const timeoutMs = 2000
  const { budget, ...rest } = options
  const zoho = createZohoBooks({
    apiBaseUrl: sandbox.apiBaseUrl,
    timeoutMs,
    tokens: createLocalTokens(createTokenMinter({ accountsUrl: sandbox.accountsUrl, credentials: SANDBOX_CREDENTIALS, timeoutMs })),
    budget: budget ?? createLocalBudget({ requestsPerMinute: 100, maxConcurrency: 10, waitMs: timeoutMs }),
    log: pino({ level: 'silent' }),
    backoffMs: 1,
  })
  const service = createReceivablesService({
    source: zoho,
    store: createLocalReceivables(),
    refreshSeconds: 600,
    staleSeconds: 3600,
    firstWaitMs: timeoutMs,
    log: pino({ level: 'silent' }),
    gatherMs: 20,
    customerSpacingMs: 300,
    ...rest,
  })
  t.teardown(() => service.stop())
  return service
}

t.test('a listing failing mid-paging keeps the last complete snapshot, flagged by its age', async (t) => {
  const sandbox = await startSandbox(t)
  let now = Date.now()
  const service = standalone(t, sandbox, { now: () => now })
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

const OPS = 'ops-key-0123456789abcdef'

/** The customers the listings since the last reset were for, in order (none: the whole organization), with the organization. */
const listedFor = (sandbox: Sandbox) =>
  sandbox.stats.listRequests.map((r) => {
    const query = new URLSearchParams(r.split('?')[1])
    return `${query.get('organization_id')}:${query.get('customer_id') ?? 'all'}`
  })

t.test('webhooks for one customer are merged: one read, and one more after it for those that came during it', async (t) => {
  const sandbox = await startSandbox(t)
  const service = standalone(t, sandbox)
  await service.forCustomer(ORG, '460000000031012')
  sandbox.resetStats()
  for (let i = 0; i < 30; i++) await service.customerChanged([ORG], '460000000031012')
  await eventually(() => sandbox.stats.listCalls === 3, 'one read')
  // Named again while its read is recent: read once more when the 300 ms are over, not five times.
  for (let i = 0; i < 5; i++) await service.customerChanged([ORG], '460000000031012')
  await eventually(() => sandbox.stats.listCalls === 6, 'the read after it')
  service.stop()
  t.same(listedFor(sandbox), Array(6).fill(`${ORG}:460000000031012`))
})

t.test('webhooks for several customers at once: one read of the whole organization', async (t) => {
  const sandbox = await startSandbox(t)
  const service = standalone(t, sandbox)
  await service.forCustomer(ORG, '460000000031012')
  sandbox.resetStats()
  for (const id of ['460000000031012', '460000000031013', '460000000031014', '460000000031015']) await service.customerChanged([ORG], id)
  await eventually(() => sandbox.stats.listCalls === 3, 'one whole read')
  service.stop()
  t.same(listedFor(sandbox), Array(3).fill(`${ORG}:all`), '3 calls instead of 4 × 3')
})

t.test('a webhook without an organization reads the customer where it is known to be', async (t) => {
  const sandbox = await startSandbox(t)
  const cached = new Set([`${ORG2}:470000000099999`])
  const service = standalone(t, sandbox, { contactKnown: async (org, id) => cached.has(`${org}:${id}`) })
  await service.forCustomer(ORG, '460000000031012')
  await service.forCustomer(ORG2, '470000000010002')
  const cases: [string, string[]][] = [
    ['460000000031013', [ORG]], // in the snapshot of ORG
    ['470000000010002', [ORG2]], // in the snapshot of ORG2
    ['470000000099999', [ORG2]], // its contact is cached in ORG2
    ['480000000099999', [ORG, ORG2]], // known nowhere: every organization that keeps receivables
  ]
  for (const [id, orgs] of cases) {
    sandbox.resetStats()
    await service.customerChanged([ORG, ORG2], id)
    await eventually(() => sandbox.stats.listCalls === 3 * orgs.length, `the reads for ${id}`)
    t.same(new Set(listedFor(sandbox)), new Set(orgs.map((org) => `${org}:${id}`)), id)
  }
  sandbox.resetStats()
  await service.customerChanged([ORG2, '10234697'], '460000000031013')
  t.same(listedFor(sandbox), [], 'an organization whose receivables are not kept is never read')
})

t.test('background reads never take the calls kept for decisions, and wait for room', async (t) => {
  const sandbox = await startSandbox(t)
  const clock = { ms: Date.now() }
  const local = createLocalBudget({ requestsPerMinute: 6, maxConcurrency: 10, waitMs: 1000, reserve: 3 }, undefined, () => clock.ms)
  let refused = 0
  // A refusal says "50 ms", so that the test need not wait a minute for its retry.
  const budget: ZohoBudget = {
    ...local,
    acquire: (org, options) =>
      local.acquire(org, options).catch((err) => {
        if (!(err instanceof BudgetRefused)) throw err
        refused++
        throw new BudgetRefused(org, { ...err.verdict, retryAfterMs: 50 })
      }),
  }
  const service = standalone(t, sandbox, { budget })
  await service.forCustomer(ORG, '460000000031012') // a decision's first read: 3 calls
  sandbox.resetStats()
  await service.customerChanged([ORG], '460000000031013')
  await eventually(() => refused >= 3, 'the read to be refused, and tried again')
  t.equal(sandbox.stats.listCalls, 0, '3 calls left, all of them the reserve')
  for (let i = 0; i < 3; i++) await budget.acquire(ORG) // decisions get them
  clock.ms += 60_000
  await eventually(() => sandbox.stats.listCalls === 3, 'the read, once the minute has room')
  t.same(listedFor(sandbox), Array(3).fill(`${ORG}:460000000031013`))
})

t.test('60 invoice webhooks in 2 s: merged, read only where the customer is, never with the decisions’ calls', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  // 30 customers with an open invoice each, 20 cold contacts to decide, all in ORG.
  const customers = addContacts(sandbox, 30, '57')
  const invoices = sandbox.documents.get(ORG)?.invoices ?? []
  for (const [i, id] of customers.entries()) {
    invoices.push(listedInvoice(`58${String(i).padStart(17, '0')}`, id, { dueInDays: 10, balance: 100 }, Date.now()))
  }
  const cold = addContacts(sandbox, 20, '59')
  const [a, b] = (await instances(t, 2, sandbox, redis.url, { ZOHO_REQUESTS_PER_MINUTE: '90', ADMIN_API_KEYS: `ops:${OPS}` })) as [
    TestApp,
    TestApp,
  ]
  // Both organizations' receivables are kept (ORG2: 450 invoices); 460000000031001 is cached in ORG.
  await decide(a.app, '460000000031001')
  await decide(b.app, '470000000010001', `?organization_id=${ORG2}`)
  const spentBefore = sandbox.stats.listCalls + sandbox.stats.contactCalls
  t.equal(spentBefore, 3 + 5 + 2)
  sandbox.resetStats()
  // In Zoho, each customer's invoice falls 40 days past due, and invoice and payment webhooks fire.
  for (const invoice of invoices.filter((i) => customers.includes(String(i.customer_id)))) {
    Object.assign(
      invoice,
      listedInvoice(String(invoice.invoice_id), String(invoice.customer_id), { dueInDays: -40, balance: 100 }, Date.now()),
    )
  }
  const hooks = []
  const during = []
  const started = Date.now()
  for (let i = 0; i < 60; i++) {
    const customer = i % 2 === 0 ? '460000000031001' : (customers[i >> 1] as string)
    const app = i % 4 < 2 ? a.app : b.app
    hooks.push(
      app.inject({
        method: 'POST',
        url: '/webhooks/zoho',
        headers: { 'x-webhook-secret': 'webhook-secret-0123456789' },
        payload: i % 3 === 0 ? { payment: { customer_id: customer } } : { invoice: { customer_id: customer } },
      }),
    )
    if (i % 6 === 5) during.push(app.inject({ url: `/contacts/${cold[(i - 5) / 6]}/risk` }))
    // 60 in 2 s: one every 33 ms.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i + 1) * 33 - Date.now())))
  }
  t.same(new Set((await Promise.all(hooks)).map((r) => r.statusCode)), new Set([200]))
  t.same(new Set((await Promise.all(during)).map((r) => r.statusCode)), new Set([200]), 'cold decisions during the burst are decided')
  // Every customer's new invoice is read, in ORG alone.
  const overdue = async (id: string) =>
    (await a.app.inject({ url: `/contacts/${id}/receivables`, headers: { 'x-api-key': OPS } })).json().receivables?.ageing?.days_31_60
  await eventually(async () => (await Promise.all(customers.map(overdue))).every((amount) => amount === 100), 'every customer read', 15_000)
  const listed = listedFor(sandbox)
  t.same(
    listed.filter((l) => !l.startsWith(`${ORG}:`)),
    [],
    `only the owning organization is listed (${listed.length} calls)`,
  )
  t.ok(listed.length <= 90 - 23 - spentBefore, `the burst's reads stay within the background part: ${listed.length} calls`)
  t.ok(listed.length <= 30, `merged: ${listed.length} listing calls, not 90 (one read per customer) nor 180 (in both organizations)`)
  const after = await Promise.all(cold.slice(10).map((id) => a.app.inject({ url: `/contacts/${id}/risk` })))
  t.same(new Set(after.map((r) => r.statusCode)), new Set([200]), 'and after it')
  t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never answered 429')
})
