import t from 'tap'
import type { RiskDecision } from '../../src/domain/decision.js'
import { eventually, startApp, startSandbox } from '../helpers/app.js'
import { startIdp } from '../helpers/idp.js'

// Held orders, people and reservations together: who may read and release a case, within
// RELEASE_LIMITS by role, and what a released order holds against the customer's credit.
const SHOP_KEY = 'shop-key-0123456789abcdef'
const OPS_KEY = 'ops-key-0123456789abcdef'
const EASTERN = '460000000031004' // limit 40,000 with 38,000 used: an order over 2,000 is blocked (releasable)

t.test('viewers read cases, approvers release within their role’s limit, and a released order holds its amount', async (t) => {
  const idp = await startIdp(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    env: { API_KEYS: `shop:${SHOP_KEY}`, ADMIN_API_KEYS: `ops:${OPS_KEY}`, RELEASE_LIMITS: 'approver:10000', ...idp.env },
  })
  await eventually(async () => (await app.inject({ url: '/readyz' })).body.includes('signing key'), 'the provider keys')
  let address = 0
  const call = (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      remoteAddress: `10.8.0.${address++}`,
      headers: { authorization: `Bearer ${who}` },
      ...(payload ? { payload } : {}),
    })
  const order = (amount: number, reference: string) => call(SHOP_KEY, 'POST', `/contacts/${EASTERN}/risk`, { order: { amount, reference } })

  const held = (await order(8000, 'SO-R1')).json() as RiskDecision
  t.equal(held.decision, 'block')
  const caseId = held.case?.case_id as string
  t.ok(caseId, 'the held order opened a case')
  const [viewer, approver, caller] = await Promise.all([idp.token('svc-viewer'), idp.token('svc-approver'), idp.token('svc-caller')])

  t.equal((await call(viewer, 'GET', '/cases?state=open')).statusCode, 200, 'a viewer lists cases')
  t.equal((await call(viewer, 'GET', `/cases/${caseId}`)).statusCode, 200, 'and reads any one')
  t.equal((await call(caller, 'GET', '/cases')).statusCode, 403, 'a caller token lists none')
  t.equal((await call(caller, 'GET', `/cases/${caseId}`)).statusCode, 404, 'nor reads another caller’s case')
  t.equal((await call(SHOP_KEY, 'GET', `/cases/${caseId}`)).statusCode, 200, 'the key whose order opened it reads it')
  t.equal((await call(viewer, 'POST', `/cases/${caseId}/release`, { reason: 'paid' })).statusCode, 403, 'a viewer releases nothing')
  const over = await call(approver, 'POST', `/cases/${caseId}/release`, { reason: 'paid by wire', amount: 12000 })
  t.equal(over.statusCode, 403, 'over the approver role’s limit of 10,000')
  t.match(over.json().detail, /up to 10,000\.00/)
  const released = await call(approver, 'POST', `/cases/${caseId}/release`, { reason: 'paid by wire' })
  t.equal(released.statusCode, 200)
  t.match(released.json(), { state: 'released', release: { by: 'svc-approver', amount: 8000, reason: 'paid by wire' } })

  const honoured = (await order(8000, 'SO-R1')).json() as RiskDecision
  t.match(honoured, {
    decision: 'allow',
    release: { case_id: caseId, by: 'svc-approver' },
    reservation: { reference: 'SO-R1', amount: 8000 },
  })
  t.match(honoured.overridden, [{ rule: 'credit-limit-exceeded' }])
  const next = (await order(1000, 'SO-R2')).json() as RiskDecision
  t.equal(next.decision, 'block', 'the released order’s 8,000 counts against the 2,000 left')
  t.equal(next.facts?.reserved_bcy, 8000)
  const reservations = await call(viewer, 'GET', `/contacts/${EASTERN}/reservations`)
  t.equal(reservations.statusCode, 200, 'a viewer reads the customer’s reservations')
  t.match(reservations.json(), { reservations: [{ reference: 'SO-R1', amount: 8000 }] })
})

t.test('a forced hold placed after a release is never overridden by it: the case re-opens, unreleasable', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: `shop:${SHOP_KEY}`, ADMIN_API_KEYS: `ops:${OPS_KEY}` } })
  const as = (key: string) => ({ authorization: `Bearer ${key}` })
  const order = async () =>
    (
      await app.inject({
        method: 'POST',
        url: `/contacts/${EASTERN}/risk`,
        headers: as(SHOP_KEY),
        payload: { order: { amount: 8000, reference: 'SO-F1' } },
      })
    ).json() as RiskDecision
  const caseId = (await order()).case?.case_id as string
  const released = await app.inject({
    method: 'POST',
    url: `/cases/${caseId}/release`,
    headers: as(OPS_KEY),
    payload: { reason: 'paid by wire' },
  })
  t.equal(released.statusCode, 200)
  t.equal((await order()).decision, 'allow', 'the release is honoured')

  // Credit control puts the customer on hold in Zoho; creditgate reads the contact again.
  const contact = sandbox.organizations.get(sandbox.creditgateEnv.ZOHO_ORGANIZATION_ID as string)?.get(EASTERN) as Record<string, unknown>
  contact.custom_fields = [{ api_name: 'cf_credit_hold', label: 'Credit hold', value: 'On', data_type: 'dropdown', index: 1 }]
  t.equal((await app.inject({ method: 'DELETE', url: `/contacts/${EASTERN}/cache`, headers: as(OPS_KEY) })).statusCode, 200)
  const held = await order()
  t.equal(held.decision, 'block', 'the manual credit hold stands')
  t.ok(
    held.reasons.some((r) => r.rule === 'manual-credit-hold'),
    'for the manual credit hold',
  )
  t.notOk(held.release, 'no release in the answer')
  const again = await app.inject({ url: `/cases/${caseId}`, headers: as(OPS_KEY) })
  t.match(again.json(), { state: 'open' })
  const refused = await app.inject({ method: 'POST', url: `/cases/${caseId}/release`, headers: as(OPS_KEY), payload: { reason: 'again' } })
  t.equal(refused.statusCode, 409, 'and it cannot be released')
  t.match(refused.json().detail, /manual-credit-hold/)
})
