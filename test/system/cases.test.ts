import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import t from 'tap'
import { createLocalCases } from '../../src/adapters/local/cases.js'
import { createLocalDeliveries, createLocalOutbox } from '../../src/adapters/local/outbox.js'
import { loadConfig } from '../../src/config.js'
import { keyActor } from '../../src/domain/actor.js'
import { type Case, CaseConflict, covers, expireCase, holdAgain, openCase, releaseCase, releaseLimit } from '../../src/domain/case.js'
import type { RiskDecision } from '../../src/domain/decision.js'
import { signatureHeaders } from '../../src/lib/standard-webhooks.js'
import { compileRuleSet, type RuleSet } from '../../src/rules/rule-set.js'
import { createCallbacks, GIVE_UP_MS } from '../../src/services/callbacks.js'
import { caseIdFor, createCaseService } from '../../src/services/cases.js'
import { readRulesFolder } from '../../src/services/rule-sets/sources.js'
import { eventually, metricValue, ORG, problem, startApp, startSandbox } from '../helpers/app.js'
import { decided, hold, POLICY } from '../helpers/cases.js'
import { startRedis } from '../helpers/redis.js'
import { receiver } from '../helpers/webhooks.js'

const KEYS = { shop: 'shop-key-0123456789abcdef', erp: 'erp-key-0123456789abcdef0' }
const ADMIN = 'admin-key-0123456789abcdef'
const SMALL = 'small-key-0123456789abcdef'
const SECRET = `whsec_${randomBytes(32).toString('base64')}`
const auth = (key: string) => ({ authorization: `Bearer ${key}` })
const env = (extra: Record<string, string> = {}) => ({
  API_KEYS: `shop:${KEYS.shop},erp:${KEYS.erp}`,
  ADMIN_API_KEYS: `ops:${ADMIN},junior:${SMALL}`,
  RELEASE_LIMITS: 'junior:5000',
  ...extra,
})

const EASTERN = '460000000031004' // limit 40,000 with 38,000 used: an order over 2,000 is blocked (releasable)
const MERIDIAN = '460000000031012' // an invoice 45 days past due: review
const HOLD = '460000000031014' // cf_credit_hold = On: block, never releasable
const INACTIVE = '460000000031003'

type App = Awaited<ReturnType<typeof startApp>>['app']

const decide = async (app: App, contact: string, amount: number, reference: string, key = KEYS.shop) => {
  const res = await app.inject({
    method: 'POST',
    url: `/contacts/${contact}/risk`,
    headers: auth(key),
    payload: { order: { amount, reference } },
  })
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json() as RiskDecision
}
const act = (app: App, caseId: string, what: 'release' | 'reject', payload: Record<string, unknown>, key = ADMIN) =>
  app.inject({ method: 'POST', url: `/cases/${caseId}/${what}`, headers: auth(key), payload })

const DAY = 86_400_000
const ops = keyActor('ops', true)

t.test('the case state machine: open, release, reject, expire, re-open, all with who, when and why', async (t) => {
  const opened = openCase(hold(), 0, POLICY)
  t.equal(opened.state, 'open')
  t.equal(opened.expires_at, new Date(14 * DAY).toISOString())
  t.match(opened.history, [{ event: 'opened', by: 'shop', reason: 'held: CREDIT_LIMIT_EXCEEDED', decision_id: 'd1' }])
  t.equal(expireCase(opened, 14 * DAY - 1), undefined, 'not before its time')
  const expired = expireCase(opened, 14 * DAY) as Case
  t.equal(expired.state, 'expired')
  t.equal(expired.history.at(-1)?.by, 'creditgate')
  t.equal(expireCase(expired, 20 * DAY), undefined, 'only an open case expires')
  const again = holdAgain(expired, hold({ decisionId: 'd2' }), 15 * DAY, POLICY)
  t.equal(again.event, 'reopened')
  t.equal(again.next.expires_at, new Date(29 * DAY).toISOString(), 'a re-opened case has its full time again')
  t.match(again.next.history.at(-1), { reason: 'asked again after the case expired', decision_id: 'd2' })
  const updated = holdAgain(opened, hold({ decisionId: 'd3', order: { reference: 'SO-1', amount: 9000 } }), 1, POLICY)
  t.equal(updated.event, 'updated')
  t.equal(updated.next.order.amount, 9000)
  const thrice = holdAgain(updated.next, hold({ decisionId: 'd4' }), 2, POLICY).next
  t.same(
    thrice.history.map((s) => [s.event, s.decision_id]),
    [
      ['opened', 'd1'],
      ['updated', 'd4'],
    ],
    'asking again and again keeps one updated step, the latest',
  )
  t.same([opened.revision, updated.next.revision, thrice.revision], [1, 2, 3], 'every change is a revision')

  const released = releaseCase(opened, ops, { reason: 'paid by wire', note: 'called the customer' }, 1000, POLICY, Number.POSITIVE_INFINITY)
  t.match(released, { state: 'released', release: { by: 'ops', amount: 8000, reason: 'paid by wire', note: 'called the customer' } })
  t.equal(released.release?.valid_until, new Date(1000 + 7 * DAY).toISOString())
  t.match(released.history.at(-1), { event: 'released', by: 'ops', reason: 'paid by wire', note: 'called the customer' })
  t.same(covers(released, 8800, 2000, 0.1), { ok: true }, '10 % more is within the tolerance')
  t.same(covers(released, 8801, 2000, 0.1), { ok: false, why: 'amount grew from 8,000.00 to 8,801.00' })
  t.match(covers(released, 100, 1000 + 7 * DAY + 1, 0.1), { ok: false, why: /release expired/ })
  t.same(covers(opened, 1, 0, 0.1), { ok: false, why: 'the case is open' })
  t.throws(() => releaseCase(released, ops, { reason: 'x' }, 0, POLICY, Number.POSITIVE_INFINITY), /only an open case/)
  t.throws(() => releaseCase(opened, ops, { reason: 'x', valid_until: '1970-01-01T00:00:00Z' }, 5, POLICY, 1e9), /in the future/)
  t.throws(() => releaseCase(opened, ops, { reason: 'x' }, 0, POLICY, 7999), /up to 7,999.00/)
  const forced = openCase(hold({ unreleasable: ['manual-credit-hold'] }), 0, POLICY)
  t.throws(() => releaseCase(forced, ops, { reason: 'x' }, 0, POLICY, 1e9), new CaseConflict('unreleasable', ''), 'a forced hold')
  t.equal(holdAgain(released, hold(), 5, POLICY, 'amount grew').next.history.at(-1)?.reason, 'amount grew')
  t.equal(holdAgain(released, hold(), 5, POLICY).next.history.at(-1)?.reason, 'the release no longer covers the order')

  t.equal(releaseLimit(new Map(), ops), Number.POSITIVE_INFINITY, 'no RELEASE_LIMITS: no limit')
  const limits = new Map([
    ['ops', 100],
    ['admin', 50],
    ['approver', 70],
  ])
  t.equal(releaseLimit(limits, ops), 100, 'by name first')
  t.equal(releaseLimit(limits, keyActor('other', true)), 50, 'else by role')
  t.equal(releaseLimit(limits, { sub: 'u1', name: 'Ann', roles: ['approver', 'admin'], via: 'oidc' }), 70, 'the largest of the roles')
  t.equal(releaseLimit(new Map([['u1', 5]]), { sub: 'u1', name: 'Ann', roles: [], via: 'oidc' }), 5, 'by subject')
})

t.test('the case service: a rejected case stays rejected; the sweep expires; a failing store never fails a decision', async (t) => {
  let now = 0
  const store = createLocalCases()
  const events: string[] = []
  const errors: unknown[] = []
  const compiled = compileRuleSet((await readRulesFolder('rules')).rules)
  const ruleSet = (compiled as { ruleSet: RuleSet }).ruleSet
  const cases = createCaseService({
    store,
    policy: POLICY,
    limits: () => new Map(),
    organizations: () => [ORG],
    rules: () => ruleSet,
    now: () => now,
    onEvent: (kind) => events.push(kind),
    onError: (err) => errors.push(err),
  })
  const answer = (decision: RiskDecision['decision']): RiskDecision =>
    decided({
      decision_id: `d${now}`,
      decision,
      contact_id: EASTERN,
      reasons: decision === 'allow' ? [] : [{ rule: 'manual-credit-hold', code: 'MANUAL_CREDIT_HOLD', severity: 'block', message: 'hold' }],
    })
  const input = { org: ORG, contactId: EASTERN, order: { amount: 10, reference: 'R' }, caller: 'shop' }
  t.same(await cases.settle({ ...input, order: { amount: 10 } }, answer('block')), answer('block'), 'no reference, no case')
  t.same(await cases.settle(input, answer('allow')), answer('allow'), 'an allowed order opens nothing')
  const first = await cases.settle(input, answer('block'))
  const caseId = caseIdFor(ORG, EASTERN, 'R')
  t.same(first.case, { case_id: caseId, state: 'open', status_url: `/cases/${caseId}` })
  t.same((await cases.get(caseId))?.unreleasable, ['manual-credit-hold'], 'the rule file says releasable: false')
  t.same((await cases.settle(input, answer('allow'))).case, { ...first.case, state: 'cleared' }, 'allowed now: the open case is cleared')
  t.match((await cases.get(caseId))?.history.at(-1), { event: 'cleared', state: 'cleared', by: 'shop', decision_id: 'd0' })
  t.same((await cases.settle(input, answer('allow'))).case?.state, 'cleared', 'allowed again: nothing changes')
  t.equal((await cases.settle(input, answer('block'))).case?.state, 'open', 'held again: re-opened')
  t.match((await cases.get(caseId))?.history.at(-1), { event: 'reopened', reason: 'held again after the rules had allowed it' })
  t.equal(await cases.get('case_nope'), undefined)
  t.equal(await cases.get('case_000000000000000000000000'), undefined)
  t.equal(await cases.release('case_000000000000000000000000', ops, { reason: 'x' }), undefined)
  await cases.reject(caseId, ops, { reason: 'fraud suspected' })
  now = 1
  t.equal((await cases.settle(input, answer('block'))).case?.state, 'rejected', 'asking again: still rejected')
  await cases.settle({ ...input, order: { amount: 10, reference: 'S' } }, answer('block'))
  t.same(await cases.sweep(), { open: 1, oldestOpenedMs: 1 })
  t.equal((await cases.list({ state: 'open', limit: 10 })).cases.length, 1)
  t.equal((await cases.list({ contactId: '1', limit: 10 })).cases.length, 0)
  t.equal((await cases.list({ since: 2, limit: 10 })).cases.length, 0)
  now = 15 * DAY
  t.equal((await cases.list({ state: 'expired', limit: 10 })).cases.length, 1, 'shown expired before the sweep stores it')
  t.same(await cases.sweep(), { open: 0, oldestOpenedMs: undefined })
  t.same(events, ['opened', 'cleared', 'reopened', 'rejected', 'opened', 'expired'])
  t.same(await cases.sweep(), { open: 0, oldestOpenedMs: undefined }, 'nothing left to expire')

  const broken = createCaseService({
    store: { ...store, get: () => Promise.reject(new Error('down')) },
    policy: POLICY,
    limits: () => new Map(),
    organizations: () => [ORG],
    rules: () => ruleSet,
    onError: (err) => errors.push(err),
  })
  t.same(await broken.settle(input, answer('block')), answer('block'), 'answered as the rules made it')
  t.match(errors, [/down/])
  const racing = createCaseService({
    store: { ...store, put: async () => false },
    now: () => now,
    policy: POLICY,
    limits: () => new Map(),
    organizations: () => [ORG],
    rules: () => ruleSet,
  })
  await cases.settle({ ...input, order: { amount: 10, reference: 'T' } }, answer('block'))
  await t.rejects(racing.reject(caseIdFor(ORG, EASTERN, 'T'), ops, { reason: 'x' }), /kept changing/)
})

t.test('configuration: release and callback settings, wrong values named', async (t) => {
  const config = loadConfig({
    RELEASE_LIMITS: 'junior:5000, approver:20000.50',
    CALLBACK_URLS: 'shop:http://127.0.0.1:9/x',
    CALLBACK_SECRETS: `shop:${SECRET}`,
  })
  t.same(config.cases.releaseLimits, [
    { name: 'junior', value: 5000 },
    { name: 'approver', value: 20000.5 },
  ])
  t.same(config.cases.callbacks, [{ name: 'shop', url: 'http://127.0.0.1:9/x', secret: SECRET }])
  t.match(loadConfig({}).cases, { expireDays: 14, releaseValidDays: 7, tolerance: 0.1, releaseLimits: [], callbacks: [] })
  for (const [name, value, message] of [
    ['RELEASE_LIMITS', 'junior:lots', /RELEASE_LIMITS entry 1 must be name:amount/],
    ['RELEASE_LIMITS', 'a:1,a:2', /RELEASE_LIMITS entry 2/],
    ['CALLBACK_URLS', 'shop:ftp://x', /CALLBACK_URLS entry 1 must be name:url/],
    ['CALLBACK_SECRETS', 'shop:whsec_c2hvcnQ=', /CALLBACK_SECRETS entry 1 must be name:whsec_/],
    ['CALLBACK_SECRETS', 'shop:secret', /CALLBACK_SECRETS/],
    ['CASE_EXPIRE_DAYS', '0', /CASE_EXPIRE_DAYS/],
    ['RELEASE_TOLERANCE', '2', /RELEASE_TOLERANCE/],
    ['RELEASE_VALID_DAYS', 'x', /RELEASE_VALID_DAYS/],
  ] as const) {
    t.throws(() => loadConfig({ [name]: value }), message, `${name}=${value}`)
  }
  t.throws(() => loadConfig({ CALLBACK_URLS: 'shop:http://x' }), /CALLBACK_SECRETS has no secret for "shop"/)
})

t.test('held orders over HTTP on real Redis', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: env({ REDIS_URL: redis.url }), deps: { caseTiming: { tickMs: 50, sweepMs: 100 } } })

  await t.test('review → case → release → the same reference is allowed, with release and overridden', async (t) => {
    const held = await decide(app, MERIDIAN, 8000, 'SO-100')
    t.equal(held.decision, 'review')
    const caseId = held.case?.case_id as string
    t.match(held.case, { state: 'open', status_url: `/cases/${caseId}` })
    const polled = await app.inject({ url: `/cases/${caseId}`, headers: auth(KEYS.shop) })
    t.equal(polled.statusCode, 200, 'the caller that opened it may poll it')
    t.match(polled.json(), {
      state: 'open',
      opened_by: 'shop',
      order: { reference: 'SO-100', amount: 8000 },
      decision_id: held.decision_id,
    })
    problem(t, await act(app, caseId, 'release', {}), 400, 'invalid_request')
    const released = await act(app, caseId, 'release', { reason: 'customer paid by wire today' })
    t.equal(released.statusCode, 200)
    t.match(released.json(), { state: 'released', release: { by: 'ops', amount: 8000 } })

    const allowed = await decide(app, MERIDIAN, 8000, 'SO-100')
    t.equal(allowed.decision, 'allow')
    t.same(allowed.reasons, [])
    t.match(allowed.overridden, [{ code: 'OVERDUE_OVER_30_DAYS' }])
    t.match(allowed.release, { case_id: caseId, by: 'ops', reason: 'customer paid by wire today' })
    t.equal((await decide(app, MERIDIAN, 8400, 'SO-100')).decision, 'allow', '5 % more is still released')
    t.equal((await decide(app, MERIDIAN, 8000, 'SO-101')).decision, 'review', 'another reference is not')

    const grown = await decide(app, MERIDIAN, 9600, 'SO-100')
    t.equal(grown.decision, 'review', '20 % more: the rules decide again')
    t.equal(grown.release, undefined)
    t.equal(grown.case?.state, 'open', 'and the case re-opens')
    const reopened = (await app.inject({ url: `/cases/${caseId}`, headers: auth(ADMIN) })).json() as Case
    t.match(reopened.history.at(-1), { event: 'reopened', reason: 'amount grew from 8,000.00 to 9,600.00' })
    t.same(
      reopened.history.map((s) => s.event),
      ['opened', 'released', 'reopened'],
    )
    const recorded = () => app.inject({ url: `/decisions/${allowed.decision_id}`, headers: auth(KEYS.shop) })
    await eventually(async () => (await recorded()).statusCode === 200, 'the history to record it')
    t.match((await recorded()).json(), { decision: 'allow' }, 'the history records the released answer')
  })

  await t.test('a release past valid_until is re-checked', async (t) => {
    const held = await decide(app, EASTERN, 8000, 'SO-200')
    t.equal(held.decision, 'block')
    const caseId = held.case?.case_id as string
    const validUntil = new Date(Date.now() + 1500).toISOString()
    t.equal((await act(app, caseId, 'release', { reason: 'until the payment clears', valid_until: validUntil })).statusCode, 200)
    t.equal((await decide(app, EASTERN, 8000, 'SO-200')).decision, 'allow')
    await eventually(async () => (await decide(app, EASTERN, 8000, 'SO-200')).decision === 'block', 'the release to lapse', 10_000)
    const after = (await app.inject({ url: `/cases/${caseId}`, headers: auth(ADMIN) })).json() as Case
    t.match(after.history.at(-1), { event: 'reopened', reason: /the release expired at/ })
  })

  await t.test('who may do what', async (t) => {
    const forced = await decide(app, HOLD, 100, 'SO-300')
    t.equal(forced.decision, 'block')
    const body = problem(t, await act(app, forced.case?.case_id as string, 'release', { reason: 'x' }), 409, 'case_conflict')
    t.match(body.detail, /manual-credit-hold/)
    const inactive = await decide(app, INACTIVE, 100, 'SO-301')
    t.match(
      problem(t, await act(app, inactive.case?.case_id as string, 'release', { reason: 'x' }), 409, 'case_conflict').detail,
      /inactive-contact/,
    )
    t.equal(
      (await act(app, forced.case?.case_id as string, 'reject', { reason: 'on hold in Zoho' })).statusCode,
      200,
      'a forced hold may be rejected',
    )
    problem(t, await act(app, forced.case?.case_id as string, 'reject', { reason: 'again' }), 409, 'case_conflict')

    const big = await decide(app, EASTERN, 8000, 'SO-302')
    const bigId = big.case?.case_id as string
    t.match(
      problem(t, await act(app, bigId, 'release', { reason: 'x' }, SMALL), 403, 'forbidden').detail,
      /junior may release orders up to 5,000.00/,
    )
    t.equal((await act(app, bigId, 'release', { reason: 'part of it', amount: 5000 }, SMALL)).statusCode, 200, 'within the limit')
    problem(t, await act(app, bigId, 'release', { reason: 'x' }, KEYS.shop), 403, 'forbidden')
    problem(t, await act(app, bigId, 'reject', { reason: 'x' }, KEYS.shop), 403, 'forbidden')
    problem(t, await app.inject({ url: '/cases', headers: auth(KEYS.shop) }), 403, 'forbidden')
    problem(t, await app.inject({ url: `/cases/${bigId}`, headers: auth(KEYS.erp) }), 404, 'case_not_found')
    problem(t, await app.inject({ url: '/cases/case_000000000000000000000000', headers: auth(ADMIN) }), 404, 'case_not_found')
    problem(t, await act(app, 'case_000000000000000000000000', 'release', { reason: 'x' }), 404, 'case_not_found')
    problem(t, await act(app, 'case_000000000000000000000000', 'reject', { reason: 'x' }), 404, 'case_not_found')
    problem(t, await act(app, bigId, 'release', { reason: 'x', valid_until: 'tomorrow' }), 400, 'invalid_request')
    problem(t, await act(app, bigId, 'release', { reason: 'x'.repeat(201) }), 400, 'invalid_request')

    const list = await app.inject({ url: `/cases?state=open&contact_id=${MERIDIAN}&since=1h`, headers: auth(ADMIN) })
    t.equal(list.statusCode, 200)
    t.match(list.json().cases, [{ contact_id: MERIDIAN, state: 'open' }])
    const all = (await app.inject({ url: '/cases?limit=500', headers: auth(ADMIN) })).json().cases as Case[]
    t.same(
      all.map((c) => c.opened_at),
      all.map((c) => c.opened_at).sort(),
      'oldest first',
    )
    t.ok(((await metricValue(app, 'creditgate_case_transitions_total{event="opened"}')) ?? 0) >= 5)
    const open = all.filter((c) => c.state === 'open').length
    await eventually(async () => (await metricValue(app, 'creditgate_cases_open')) === open, 'the sweep to count the open cases')
    t.ok(((await metricValue(app, 'creditgate_case_oldest_open_seconds')) ?? 0) > 0, 'the oldest open case has an age')
  })
})

t.test('callbacks: signed, retried with one webhook-id, delivered once accepted, after a restart too', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const hook = await receiver(t, SECRET, 3)
  const callbackEnv = env({ REDIS_URL: redis.url, CALLBACK_URLS: `shop:${hook.url}`, CALLBACK_SECRETS: `shop:${SECRET}` })
  // A lease of a second: a lease whose answer was lost to a slow machine (the script ran, its reply
  // timed out) hides the event for a second, not a minute.
  const timing = { caseTiming: { tickMs: 20, backoffMs: 50, leaseMs: 1000 } }
  const { app } = await startApp(t, sandbox, { env: callbackEnv, deps: timing })
  const held = await decide(app, EASTERN, 8000, 'SO-400')
  await eventually(() => hook.accepted.length === 1, 'the callback', 10_000)
  t.equal(hook.seen.length, 4, '500 three times, then accepted')
  t.equal(new Set(hook.seen).size, 1, 'one webhook-id on every attempt')
  t.match(hook.accepted[0], { type: 'case.opened', data: { case_id: held.case?.case_id, state: 'open', opened_by: 'shop' } })
  // Counted once creditgate has read the answer (the receiver may record it first).
  await eventually(async () => (await metricValue(app, 'creditgate_callbacks_total{result="delivered"}')) === 1, 'the delivery count')
  t.equal(await metricValue(app, 'creditgate_callbacks_total{result="failed"}'), 3)
  t.same(hook.rejected, [])
  const view = (await app.inject({ url: `/cases/${held.case?.case_id}`, headers: auth(KEYS.shop) })).json()
  t.match(
    view.callbacks,
    [{ event_id: hook.seen[0], type: 'case.opened', state: 'delivered', attempts: 4, last_result: 'accepted' }],
    'attempts are on the case',
  )
  await decide(app, EASTERN, 8000, 'SO-400', KEYS.erp)
  t.equal(hook.accepted.length, 1, 'asking again updates the case: no event')

  await app.close()

  // Pending while creditgate stops: the outbox in Redis outlives it; the next instance sends it.
  const stopped = await receiver(t, SECRET, 1_000_000)
  const slowEnv = { ...callbackEnv, CALLBACK_URLS: `shop:${stopped.url}` }
  const first = await startApp(t, sandbox, { env: slowEnv, deps: { caseTiming: { tickMs: 20, backoffMs: 60_000, leaseMs: 1000 } } })
  t.equal((await act(first.app, held.case?.case_id as string, 'release', { reason: 'paid' })).statusCode, 200)
  await eventually(() => stopped.seen.length === 1, `a first, failed attempt (rejected: ${stopped.rejected})`, 10_000)
  await first.app.close()
  t.equal(await redis.client.zcard('creditgate:v1:{callbacks}:due'), 1, 'the event waits in Redis')
  // The retry is due a minute later: the test moves it to now, as the minute passing would.
  await redis.client.zadd('creditgate:v1:{callbacks}:due', 0, stopped.seen[0] as string)
  const again = await receiver(t, SECRET)
  const second = await startApp(t, sandbox, { env: { ...callbackEnv, CALLBACK_URLS: `shop:${again.url}` }, deps: timing })
  await eventually(() => again.accepted.length === 1, 'the pending callback after the restart', 10_000)
  t.match(again.accepted[0], { id: stopped.seen[0], type: 'case.released', data: { state: 'released', release: { reason: 'paid' } } })
  await eventually(async () => (await redis.client.zcard('creditgate:v1:{callbacks}:due')) === 0, 'the outbox to empty')
  t.ok(second.app)
})

t.test('a tampered signature is rejected by the receiver: the check is real', async (t) => {
  const hook = await receiver(t, SECRET)
  const body = JSON.stringify({ type: 'case.opened', timestamp: new Date().toISOString(), data: {} })
  const now = Math.floor(Date.now() / 1000)
  const send = (headers: Record<string, string>, text = body) =>
    fetch(hook.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text })
  t.equal((await send(signatureHeaders(SECRET, 'msg_1', now, body))).status, 204, 'the real signature')
  const other = `whsec_${randomBytes(32).toString('base64')}`
  t.equal((await send(signatureHeaders(other, 'msg_2', now, body))).status, 400, 'another secret')
  t.equal((await send(signatureHeaders(SECRET, 'msg_3', now, body), body.replace('opened', 'released'))).status, 400, 'another body')
  t.equal((await send({ ...signatureHeaders(SECRET, 'msg_4', now, body), 'webhook-id': 'msg_5' })).status, 400, 'another id')
  t.equal(hook.accepted.length, 1)
  t.equal(hook.rejected.length, 3)
})

t.test('the callback worker: retries with doubling delays, gives up after 24 hours, in-process without Redis', async (t) => {
  // Always 500 (the clock here is made up: a verifying receiver would refuse its timestamps anyway).
  const ids: string[] = []
  const server = createServer((req, res) => {
    ids.push(String(req.headers['webhook-id']))
    req.resume().on('end', () => res.writeHead(500).end())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const hook = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` }
  let now = 1_000_000
  const results: [string, string][] = []
  const store = createLocalOutbox()
  const callbacks = createCallbacks({
    store,
    deliveries: createLocalDeliveries(),
    targets: [
      { name: 'shop', url: hook.url, secret: SECRET },
      { name: 'erp', url: 'http://127.0.0.1:1/nothing-listens', secret: SECRET },
    ],
    now: () => now,
    onResult: (result, _event, detail) => results.push([result, detail]),
  })
  const opened = openCase(hold(), 0, POLICY)
  await callbacks.enqueue('opened', { ...opened, opened_by: 'nobody' })
  t.equal(await callbacks.tick(), 0, 'a caller without a URL gets no event')
  await callbacks.enqueue('opened', opened)
  t.equal(await callbacks.tick(), 1)
  t.same(results.at(-1), ['failed', 'HTTP 500'])
  t.equal(await callbacks.tick(), 0, 'not due again before its delay')
  const delays: number[] = []
  let due = now
  while (results.at(-1)?.[0] === 'failed') {
    // The next attempt is due somewhere after the last; find it by stepping the clock forward.
    let step = 1000
    while ((await callbacks.tick()) === 0) {
      now += step
      step = Math.min(step * 2, 600_000)
    }
    delays.push(now - due)
    due = now
  }
  t.same(results.at(-1), ['gave_up', 'HTTP 500'], 'given up')
  t.ok(now - 1_000_000 <= GIVE_UP_MS + 3_600_000 * 2, 'about 24 hours after the event')
  t.ok(delays.length > 10 && delays.length < 40, `${delays.length} attempts`)
  t.equal(new Set(ids).size, 1, 'one webhook-id throughout')
  t.match(await callbacks.deliveries(opened.case_id), [
    { event_id: ids[0], type: 'case.opened', state: 'gave_up', attempts: ids.length, last_result: 'HTTP 500' },
  ])
  t.equal(ids.length, delays.length + 1)

  await callbacks.enqueue('released', { ...opened, opened_by: 'erp' })
  await callbacks.tick()
  t.match(results.at(-1), ['failed', /fetch failed|ECONNREFUSED/], 'no answer at all is a failure too')

  const dropped: string[] = []
  const gone = createCallbacks({
    store,
    deliveries: createLocalDeliveries(),
    targets: [],
    now: () => now + 3_600_000,
    onResult: (result, _e, detail) => dropped.push(`${result}: ${detail}`),
  })
  t.equal(await gone.tick(), 1)
  t.same(dropped, ['gave_up: no CALLBACK_URLS entry for the caller any more'], 'an event whose caller lost its URL is dropped')
  t.equal(await gone.tick(), 0, 'and gone from the outbox')
})

t.test('Redis down: held orders still get their case, in the process; decisions never fail for it', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: env({ REDIS_URL: redis.url }) })
  const before = await decide(app, EASTERN, 8000, 'SO-500')
  t.equal(before.case?.state, 'open')
  await redis.kill()
  const during = await decide(app, EASTERN, 8000, 'SO-501')
  t.equal(during.decision, 'block')
  t.equal(during.case?.state, 'open', 'opened in the in-process store')
  const seen = await app.inject({ url: `/cases/${during.case?.case_id}`, headers: auth(ADMIN) })
  t.equal(seen.statusCode, 200)
  t.equal((await act(app, during.case?.case_id as string, 'release', { reason: 'while Redis is down' })).statusCode, 200)
  t.equal((await decide(app, EASTERN, 8000, 'SO-501')).decision, 'allow')
})
