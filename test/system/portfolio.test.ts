import t from 'tap'
import { contactOnlyRules, ORG2, problem, startApp, startSandbox } from '../helpers/app.js'

/** GET /receivables, the portfolio: the snapshot's customers, sorted, searched and paged, with no Zoho call of its own. */
const SHOP_KEY = 'shop-key-0123456789abcdef'
const OPS_KEY = 'ops-key-0123456789abcdef0'
const admin = { authorization: `Bearer ${OPS_KEY}` }
const env = { API_KEYS: `shop:${SHOP_KEY}`, ADMIN_API_KEYS: `ops:${OPS_KEY}` }

t.test('the portfolio: from the snapshot, never a Zoho call; sorted, searched, paged; problems as problem+json', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env })
  const get = (url: string, headers: Record<string, string> = admin) => app.inject({ url, headers })

  // No decision has needed receivables yet: nothing is read for the portfolio.
  problem(t, await get('/receivables'), 503, 'upstream_unavailable')
  t.equal(sandbox.stats.listCalls, 0, 'the portfolio reads no listing')

  t.equal((await get('/contacts/460000000031012/risk')).statusCode, 200, 'a decision reads the snapshot')
  const calls = sandbox.stats.listCalls
  const all = (await get('/receivables?limit=500')).json()
  t.equal(sandbox.stats.listCalls, calls, 'no Zoho call')
  t.match(all, { organization_id: '10234695', as_of: String, offset: 0, next_offset: null })
  t.ok(all.total >= 5)
  t.equal(all.customers.length, all.total)
  const exposures = all.customers.map((c: { exposure_bcy: number }) => c.exposure_bcy)
  t.same(
    exposures,
    [...exposures].sort((a, b) => b - a),
    'largest exposure first',
  )
  const meridian = all.customers.find((c: { contact_id: string }) => c.contact_id === '460000000031012')
  t.match(meridian, { contact_name: 'Meridian Foods', overdue_invoices: 1, oldest_overdue_days: 45, overdue_bcy: 6000 })
  t.equal(meridian.exposure_bcy, meridian.open_invoices_bcy + meridian.open_orders_bcy)
  t.same(
    all.customers.filter((c: { contact_name: string | null }) => c.contact_name === null),
    [],
    'every customer is named, from the name Zoho prints on its listed documents (no contact read, none cached)',
  )

  const first = (await get('/receivables?limit=2')).json()
  t.equal(first.customers.length, 2)
  t.equal(first.next_offset, 2)
  const second = (await get('/receivables?limit=2&offset=2')).json()
  t.same(
    [...first.customers, ...second.customers].map((c: { contact_id: string }) => c.contact_id),
    all.customers.slice(0, 4).map((c: { contact_id: string }) => c.contact_id),
    'pages follow each other',
  )

  const oldest = (await get('/receivables?sort=oldest_overdue_days&limit=500')).json().customers
  const days = oldest.map((c: { oldest_overdue_days: number }) => c.oldest_overdue_days)
  t.same(
    days,
    [...days].sort((a, b) => b - a),
    'oldest overdue first',
  )
  t.same(
    (await get('/receivables?q=MERID')).json().customers.map((c: { contact_id: string }) => c.contact_id),
    ['460000000031012'],
    'searched by name, any case',
  )
  t.same(
    (await get('/receivables?q=460000000031012')).json().customers.map((c: { contact_id: string }) => c.contact_id),
    ['460000000031012'],
    'or by contact id',
  )
  t.equal((await get('/receivables?q=nobody-by-this-name')).json().total, 0)

  problem(t, await get('/receivables?sort=size'), 400, 'invalid_request')
  problem(t, await get('/receivables?limit=501'), 400, 'invalid_request')
  problem(t, await get('/receivables?offset=-1'), 400, 'invalid_request')
  problem(t, await get(`/receivables?q=${'x'.repeat(101)}`), 400, 'invalid_request')
  problem(t, await get('/receivables?organization_id=99999'), 403, 'forbidden')
  problem(t, await get('/receivables', {}), 401, 'unauthorized')
  problem(t, await get('/receivables', { 'x-api-key': SHOP_KEY }), 403, 'forbidden')
  t.equal((await get(`/receivables?organization_id=${ORG2}`)).statusCode, 503, 'an organization not read yet')
})

t.test('without receivables rules the portfolio is empty, and nothing is read', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...env, RULES_DIR: await contactOnlyRules(t) } })
  const res = await app.inject({ url: '/receivables', headers: admin })
  t.same(res.json(), { organization_id: '10234695', as_of: null, age_seconds: null, total: 0, offset: 0, next_offset: null, customers: [] })
  t.equal(sandbox.stats.listCalls, 0)
})
