import { randomBytes } from 'node:crypto'
import t from 'tap'
import { caseIndexesKey, caseRevisionsKey, casesKey } from '../../src/adapters/redis/cases.js'
import { type Case, openCase } from '../../src/domain/case.js'
import type { RiskDecision } from '../../src/domain/decision.js'
import { compileRuleSet, type RuleSet } from '../../src/rules/rule-set.js'
import { CASE_LIST_BOUNDS } from '../../src/services/case-list.js'
import { caseIdFor } from '../../src/services/cases.js'
import { readRulesFolder } from '../../src/services/rule-sets/sources.js'
import { eventually, ORG, startApp, startSandbox } from '../helpers/app.js'
import { startIdp } from '../helpers/idp.js'
import { startRedis } from '../helpers/redis.js'
import { receiver } from '../helpers/webhooks.js'

// Who did what to held orders: every case transition and every purge and backtest in the audit
// trail with the person (token) or key; a case the rules allow again leaves the worklist; no case
// for an answer made without data; GET /cases bounded and paginated on real Redis.
const SHOP = 'shop-key-0123456789abcdef'
const OPS = 'ops-key-0123456789abcdef0'
const SECRET = `whsec_${randomBytes(32).toString('base64')}`
const EASTERN = '460000000031004' // limit 40,000 with 38,000 used: an order over 2,000 is blocked (releasable)
const MERIDIAN = '460000000031012' // an invoice 45 days past due: review

// The shipped rules, compiled here: an app given them starts without the rules folder's worker (a
// loaded machine is slow to start one).
const shipped = async () => (compileRuleSet((await readRulesFolder('rules')).rules) as { ruleSet: RuleSet }).ruleSet

type App = Awaited<ReturnType<typeof startApp>>['app']
let address = 0
const call = (app: App, who: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    remoteAddress: `10.9.0.${address++ % 250}`,
    headers: { authorization: `Bearer ${who}` },
    ...(payload ? { payload } : {}),
  })
const order = async (app: App, contact: string, amount: number, reference: string) => {
  const res = await call(app, SHOP, 'POST', `/contacts/${contact}/risk`, { order: { amount, reference } })
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json() as RiskDecision
}

t.test('the audit trail names people and keys: releases, rejections, purges, backtests, and every transition', async (t) => {
  const idp = await startIdp(t)
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const hook = await receiver(t, SECRET)
  const { app } = await startApp(t, sandbox, {
    env: {
      API_KEYS: `shop:${SHOP}`,
      ADMIN_API_KEYS: `ops:${OPS}`,
      REDIS_URL: redis.url,
      CALLBACK_URLS: `shop:${hook.url}`,
      CALLBACK_SECRETS: `shop:${SECRET}`,
      ...idp.env,
    },
    deps: { caseTiming: { tickMs: 20, backoffMs: 50 }, ruleSet: await shipped() },
  })
  await eventually(async () => (await app.inject({ url: '/readyz' })).body.includes('signing key'), 'the provider keys')
  const [approver, admin, viewer] = await Promise.all([idp.token('svc-approver'), idp.token('svc-admin'), idp.token('svc-viewer')])

  const released = (await order(app, EASTERN, 8000, 'SO-A1')).case?.case_id as string
  const rejected = (await order(app, MERIDIAN, 500, 'SO-A2')).case?.case_id as string
  t.equal((await call(app, approver, 'POST', `/cases/${released}/release`, { reason: 'paid by wire' })).statusCode, 200)
  t.equal((await call(app, OPS, 'POST', `/cases/${rejected}/reject`, { reason: 'fraud suspected' })).statusCode, 200)

  const person = { sub: 'svc-approver', name: 'svc-approver', roles: ['approver'], via: 'oidc' }
  const view = (await call(app, viewer, 'GET', `/cases/${released}`)).json() as Case
  t.match(view.history.at(-1), { event: 'released', by: 'svc-approver', actor: person }, 'the case history names the person')
  t.same(view.release?.actor, person, 'and so does its release')
  t.same((await call(app, viewer, 'GET', `/cases/${rejected}`)).json().history.at(-1).actor, {
    sub: 'ops',
    name: 'ops',
    roles: ['admin'],
    via: 'key',
  })

  const honoured = await order(app, EASTERN, 8000, 'SO-A1')
  t.equal(honoured.decision, 'allow')
  await app.history.flush()
  const record = (await call(app, viewer, 'GET', `/decisions/${honoured.decision_id}`)).json()
  t.match(record, { decision: 'allow', release: { by: 'svc-approver', actor: person }, overridden: [{ rule: 'credit-limit-exceeded' }] })
  t.match(record.case, { case_id: released, state: 'released' }, 'the decision history shows who let the order through')

  t.equal((await call(app, admin, 'DELETE', `/contacts/${EASTERN}/cache`)).statusCode, 200, 'a purge by a person')
  t.equal((await call(app, OPS, 'DELETE', `/contacts/${EASTERN}/cache`)).statusCode, 200, 'and by a key')
  t.equal((await call(app, admin, 'POST', '/rules/backtest', {})).statusCode, 200, 'a backtest by a person')
  await app.audit.flush()

  const trail = async (query: string) => (await call(app, viewer, 'GET', `/audit?${query}`)).json().entries as Record<string, unknown>[]
  t.match(await trail(`case_id=${released}`), [
    { kind: 'case.released', actor: person, reason: 'paid by wire', contact_id: EASTERN, organization_id: ORG },
    { kind: 'case.opened', by: 'shop', reason: 'held: CREDIT_LIMIT_EXCEEDED' },
  ])
  t.match(await trail('kind=case.rejected'), [{ case_id: rejected, actor: { sub: 'ops', via: 'key' }, reason: 'fraud suspected' }])
  t.match(await trail('kind=cache.purged'), [
    { by: 'ops', actor: { sub: 'ops', roles: ['admin'], via: 'key' }, contact_id: EASTERN },
    { by: 'svc-admin', actor: { sub: 'svc-admin', roles: ['admin'], via: 'oidc' }, contact_id: EASTERN },
  ])
  t.match(await trail('kind=rules.backtest'), [{ actor: { sub: 'svc-admin', roles: ['admin'] }, detail: /on \d+ decisions/ }])
  t.equal((await trail(`contact_id=${EASTERN}`)).length, 4, "the customer's trail: opened, released, two purges")
  const first = (await call(app, viewer, 'GET', '/audit?limit=2')).json()
  t.equal(first.entries.length, 2)
  const rest = (await call(app, viewer, 'GET', `/audit?limit=500&cursor=${first.next_cursor}`)).json()
  t.equal(rest.entries.length, 5, 'a cursor continues the trail')
  t.equal(rest.next_cursor, null)
  t.equal((await call(app, SHOP, 'GET', '/audit')).statusCode, 403, 'a caller key reads no trail')
  t.equal((await call(app, viewer, 'GET', '/audit?cursor=nope')).statusCode, 400)

  await eventually(
    () => ['case.opened', 'case.released', 'case.rejected'].every((type) => hook.accepted.some((e) => e.type === type)),
    'the callbacks',
    10_000,
  )
  t.match(hook.accepted.find((e) => e.type === 'case.released')?.data.release, { actor: person }, 'the callback names the person too')
})

t.test('an open case the rules allow again is cleared: out of the worklist, recorded, and called back', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const hook = await receiver(t, SECRET)
  const { app } = await startApp(t, sandbox, {
    env: {
      API_KEYS: `shop:${SHOP}`,
      ADMIN_API_KEYS: `ops:${OPS}`,
      REDIS_URL: redis.url,
      CALLBACK_URLS: `shop:${hook.url}`,
      CALLBACK_SECRETS: `shop:${SECRET}`,
    },
    deps: { caseTiming: { tickMs: 20, backoffMs: 50 }, ruleSet: await shipped() },
  })
  const held = await order(app, EASTERN, 8000, 'SO-C1')
  t.equal(held.decision, 'block')
  const caseId = held.case?.case_id as string
  t.same(
    (await call(app, OPS, 'GET', '/cases?state=open')).json().cases.map((c: Case) => c.case_id),
    [caseId],
  )

  // Credit control raises the limit in Zoho; creditgate reads the contact again.
  const contact = sandbox.organizations.get(ORG)?.get(EASTERN) as Record<string, unknown>
  contact.credit_limit = 100_000
  await call(app, OPS, 'DELETE', `/contacts/${EASTERN}/cache`)
  const allowed = await order(app, EASTERN, 8000, 'SO-C1')
  t.equal(allowed.decision, 'allow')
  t.same(allowed.case, { case_id: caseId, state: 'cleared', status_url: `/cases/${caseId}` })
  t.notOk(allowed.release, 'nobody released it')
  t.same((await call(app, OPS, 'GET', '/cases?state=open')).json().cases, [], 'the worklist is empty')
  const view = (await call(app, SHOP, 'GET', `/cases/${caseId}`)).json() as Case
  t.match(view, { state: 'cleared', history: [{ event: 'opened' }, { event: 'cleared', by: 'shop', decision_id: allowed.decision_id }] })
  t.equal((await call(app, OPS, 'POST', `/cases/${caseId}/release`, { reason: 'x' })).statusCode, 409, 'nothing left to release')
  await eventually(() => hook.accepted.some((e) => e.type === 'case.cleared'), 'the case.cleared callback', 10_000)
  t.match(hook.accepted.find((e) => e.type === 'case.cleared')?.data, { case_id: caseId, state: 'cleared' })
  t.equal((await order(app, EASTERN, 8000, 'SO-C1')).case?.state, 'cleared', 'allowed again: no second step')

  contact.credit_limit = 40_000
  await call(app, OPS, 'DELETE', `/contacts/${EASTERN}/cache`)
  const again = await order(app, EASTERN, 8000, 'SO-C1')
  t.match(again, { decision: 'block', case: { case_id: caseId, state: 'open' } }, 'held again: the case re-opens')
  await app.audit.flush()
  t.same(
    (await call(app, OPS, 'GET', `/audit?case_id=${caseId}`)).json().entries.map((e: { kind: string }) => e.kind),
    ['case.reopened', 'case.cleared', 'case.opened'],
  )
})

t.test('FAIL_MODE=review: an answer made without the contact opens no case', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    env: { API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${OPS}`, FAIL_MODE: 'review' },
    deps: { ruleSet: await shipped() },
  })
  sandbox.faults.down = true
  const answer = await order(app, EASTERN, 8000, 'SO-F1')
  t.equal(answer.decision, 'review')
  t.match(answer.reasons, [{ code: 'CONTACT_UNAVAILABLE' }])
  t.notOk(answer.case, 'no case: the data was missing, not the credit')
  t.same((await call(app, OPS, 'GET', '/cases')).json().cases, [])
  t.equal((await call(app, OPS, 'GET', `/cases/${caseIdFor(ORG, EASTERN, 'SO-F1')}`)).statusCode, 404)
})

t.test('GET /cases at 10,000 cases: pages by cursor from the indexes, never reading the whole store', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const total = 10_000
  const legacy = total - 100
  // 9,900 cases as a release before the indexes stored them (the hash and the revisions alone,
  // written straight into Redis before creditgate starts), then 100 through the service: the first
  // page (or the sweep's first walk) indexes the others.
  const policy = { expireDays: 14, releaseValidDays: 7, tolerance: 0.1 }
  const reasons = [{ rule: 'credit-limit-exceeded', code: 'CREDIT_LIMIT_EXCEEDED', severity: 'block' as const, message: 'over' }]
  const hold = (i: number) => ({
    caseId: caseIdFor(ORG, EASTERN, `R-${i}`),
    org: ORG,
    contactId: EASTERN,
    order: { reference: `R-${i}`, amount: 10 },
    decisionId: `d${i}`,
    decision: 'block' as const,
    reasons,
    unreleasable: [],
    caller: 'shop',
  })
  const now = Date.now()
  for (let i = 0; i < legacy; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, legacy - i) }, (_, j) => openCase(hold(i + j), now - (total - i - j) * 1000, policy))
    await redis.client.hset(casesKey(ORG), Object.fromEntries(batch.map((c) => [c.case_id, JSON.stringify(c)])))
    await redis.client.hset(caseRevisionsKey(ORG), Object.fromEntries(batch.map((c) => [c.case_id, c.revision])))
  }
  const { app } = await startApp(t, sandbox, {
    env: { API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${OPS}`, REDIS_URL: redis.url },
    deps: { ruleSet: await shipped() },
  })
  const base = { contact_id: EASTERN, organization_id: ORG, rules_version: 'v', alerts: [], facts: null, contact: null }
  for (let i = legacy; i < total; i++) {
    await app.cases.settle(
      { org: ORG, contactId: EASTERN, order: { amount: 10, reference: `R-${i}` }, caller: 'shop' },
      { ...base, receivables: null, payments: null, evaluated_at: '', decision_id: `d${i}`, decision: 'block', reasons },
    )
  }
  t.equal((await call(app, OPS, 'GET', '/cases?state=open&limit=1')).json().cases[0].case_id, caseIdFor(ORG, EASTERN, 'R-0'))
  t.equal(await redis.client.zcard(caseIndexesKey(ORG, 'open')), total, 'the first page indexed the cases stored before the indexes')
  const stats = async () => {
    const info = await redis.client.info('commandstats')
    return Number(/cmdstat_hgetall:calls=(\d+)/.exec(info)?.[1] ?? 0)
  }
  const before = await stats()
  const started = performance.now()
  const page = (await call(app, OPS, 'GET', '/cases?state=open&limit=100')).json()
  const ms = performance.now() - started
  const caseId = page.cases[7].case_id as string
  t.equal((await call(app, OPS, 'POST', `/cases/${caseId}/reject`, { reason: 'no' })).statusCode, 200)
  t.equal(page.cases.length, 100)
  t.ok(page.next_cursor, 'with a cursor for the rest')
  const next = (await call(app, OPS, 'GET', `/cases?state=open&limit=100&cursor=${page.next_cursor}`)).json()
  t.equal(next.cases.length, 100)
  t.notOk(
    next.cases.some((c: Case) => c.case_id === caseId),
    'a rejected case leaves the open index',
  )
  t.ok(
    page.cases.at(-1).opened_at <= next.cases[0].opened_at && !page.cases.some((c: Case) => c.case_id === next.cases[0].case_id),
    'the next page continues, oldest first',
  )
  t.same(
    (await call(app, OPS, 'GET', '/cases?state=rejected')).json().cases.map((c: Case) => c.case_id),
    [caseId],
    'a state is read from its own index',
  )
  const other = (await call(app, OPS, 'GET', '/cases?contact_id=460000000031012&limit=10')).json()
  t.same(other.cases, [], 'no case of that contact among those looked at')
  t.ok(other.next_cursor, `a page stops after ${CASE_LIST_BOUNDS.scanned} cases with a cursor`)
  t.equal(await stats(), before, 'no HGETALL')
  await app.cases.sweep()
  const whole = performance.now()
  const all = Object.values(await redis.client.hgetall(casesKey(ORG))).map((json) => JSON.parse(json) as Case)
  t.equal(all.length, total)
  t.comment(
    `GET /cases?state=open&limit=100 over ${total} cases: ${ms.toFixed(1)} ms; the whole hash read and parsed (what each request did before): ${(performance.now() - whole).toFixed(1)} ms`,
  )
  t.equal((await call(app, OPS, 'GET', '/cases?cursor=nope')).statusCode, 400)
})
