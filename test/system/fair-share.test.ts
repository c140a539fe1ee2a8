import t, { type Test } from 'tap'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { addContacts, contactOnlyRules, eventually, problem, startApp, startSandbox, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { CALLER, KEYS } from '../helpers/rules-folder.js'

/**
 * The caller share (issue 23) as callers meet it: it bites only when there is someone to protect,
 * and never leaves budget unused. Each scenario runs in process (no Redis), on two instances
 * sharing a Redis, and on two instances whose Redis is killed half way (the degraded share). The
 * sandbox counts the Zoho calls it receives; the rules read only the contact, so every one is a
 * contact call.
 */

// Up to three instances and a Redis outage per scenario, on 2 shared cores.
t.setTimeout(240_000)

const SHOP = 'shop-key-0123456789abcdef'
const POS = 'pos-key-0123456789abcdef'
const OPS = 'ops-key-0123456789abcdef'
/** The most common deployment: one order system, one operations key. */
const ONE_CALLER = { API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${OPS}` }
const TWO_CALLERS = { API_KEYS: `shop:${SHOP},pos:${POS}`, ADMIN_API_KEYS: `ops:${OPS}` }

type Mode = 'in process' | 'two instances' | 'Redis killed half way'
const MODES: Mode[] = ['in process', 'two instances', 'Redis killed half way']

interface Setup {
  sandbox: Sandbox
  apps: TestApp['app'][]
  /** Kills Redis and waits until every instance is degraded (nothing without an outage). */
  halfWay(): Promise<void>
}

/** The instances of a mode, on one sandbox, with the contact-only rules and no per-key request limit. */
async function setup(t: Test, mode: Mode, env: Record<string, string>, instances = 2): Promise<Setup> {
  const sandbox = await startSandbox(t)
  const base = { RATE_LIMIT_PER_MINUTE: '0', RULES_DIR: await contactOnlyRules(t), ...env }
  if (mode === 'in process') return { sandbox, apps: [(await startApp(t, sandbox, { env: base })).app], halfWay: async () => {} }
  const redis = await startRedis(t)
  const apps: TestApp['app'][] = []
  for (let i = 0; i < instances; i++) apps.push((await startApp(t, sandbox, { env: { ...base, REDIS_URL: redis.url } })).app)
  const status = async (app: TestApp['app']) => (await app.inject({ url: '/readyz' })).json()
  // Each instance counts the others (a degraded budget splits by it).
  for (const app of apps) {
    await eventually(
      async () => (await status(app)).checks.redis.detail.includes(`${instances} instances`),
      'the instances to see each other',
    )
  }
  return {
    sandbox,
    apps,
    async halfWay() {
      if (mode !== 'Redis killed half way') return
      await redis.kill()
      for (const app of apps) await eventually(async () => (await status(app)).status === 'degraded', 'degraded', 15_000)
    },
  }
}

const ask = (app: TestApp['app'], id: string, key: string) => app.inject({ url: `/contacts/${id}/risk`, headers: { 'x-api-key': key } })
type Answer = Awaited<ReturnType<typeof ask>>

/** Asks for every id with `key`, at most `concurrency` at once, across the instances in turn. */
async function flood(apps: TestApp['app'][], ids: string[], key: string, concurrency: number): Promise<Answer[]> {
  const answers: Answer[] = []
  let next = 0
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) answers[i] = await ask(apps[i % apps.length] as TestApp['app'], ids[i] as string, key)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return answers
}

const count = (answers: Answer[], status: number) => answers.filter((r) => r.statusCode === status).length
/** Ids Zoho does not know: each costs a Zoho call (and is then remembered for 60 s). */
const madeUp = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(10, '0')}`)

for (const mode of MODES) {
  t.test(`${mode}: one caller key and one admin key, budget 90: 80 cold contacts in a minute are all decided`, async (t) => {
    const { sandbox, apps, halfWay } = await setup(t, mode, { ...ONE_CALLER, ZOHO_REQUESTS_PER_MINUTE: '90' })
    const ids = addContacts(sandbox, 80, '71')
    const answers = [...(await flood(apps, ids.slice(0, 40), SHOP, 8))]
    await halfWay()
    answers.push(...(await flood(apps, ids.slice(40), SHOP, 8)))
    t.equal(count(answers, 200), 80, 'all decided')
    t.equal(count(answers, 429), 0, 'no 429: the admin key is no party to share with')
    t.equal(sandbox.stats.contactCalls, 80)
    t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never answered 429')
  })

  t.test(`${mode}: two caller keys; one floods with 150 made-up ids, the other's 10 cold contacts are all decided`, async (t) => {
    const { sandbox, apps, halfWay } = await setup(t, mode, { ...TWO_CALLERS, ZOHO_REQUESTS_PER_MINUTE: '90' })
    const made = madeUp(150, '98')
    const cold = addContacts(sandbox, 10, '72')
    const flooded = [...(await flood(apps, made.slice(0, 40), SHOP, 8))]
    await halfWay()
    // The other caller's contacts while the flood goes on.
    const [rest, served] = await Promise.all([flood(apps, made.slice(40), SHOP, 8), flood(apps, cold, POS, 1)])
    flooded.push(...rest)
    t.equal(count(served, 200), 10, "the other caller's contacts are all decided")
    const zohoCallsOfFlood = made.filter((id) => sandbox.stats.byContact.has(id)).length
    t.equal(count(flooded, 404), zohoCallsOfFlood, 'each made-up id that reached Zoho is a 404')
    t.equal(count(flooded, 429), 150 - zohoCallsOfFlood, 'the rest are the flooding caller’s own 429')
    t.ok(zohoCallsOfFlood <= 90 - 23, `the flood got ${zohoCallsOfFlood} Zoho calls: at most B − reserve = 67`)
    // Redis killed after 40 calls: each instance's part is ⌊50 / 2⌋ = 25 and keeps 12, so 40 + 2 × 13 are free.
    const free = mode === 'Redis killed half way' ? 66 : 67
    t.ok(sandbox.stats.contactCalls >= free, `nothing held back: ${sandbox.stats.contactCalls} calls in all, the ${free} free ones used`)
    t.ok(sandbox.stats.contactCalls <= 90)
    t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never answered 429')
    const refused = flooded.find((r) => r.statusCode === 429) as Answer
    t.match(
      problem(t, refused, 429, 'rate_limited').detail,
      /^this caller started \d+ Zoho calls for uncached contacts of organization \d+ in the last minute, its fair part being \d+/,
    )
    const retryAfter = Number(refused.headers['retry-after'])
    t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
  })

  t.test(`${mode}: two caller keys, one alone in a quiet minute: it gets B − reserve, not B ÷ 2`, async (t) => {
    const { sandbox, apps, halfWay } = await setup(t, mode, { ...TWO_CALLERS, ZOHO_REQUESTS_PER_MINUTE: '90' })
    const made = madeUp(100, '97')
    // One by one: with Redis killed after 30, each instance has seen 15 of them.
    const answers = [...(await flood(apps, made.slice(0, 30), SHOP, 1))]
    await halfWay()
    answers.push(...(await flood(apps, made.slice(30), SHOP, 1)))
    // Redis down after 30 calls: each of two instances may make ⌊(90 − 30) / 2⌋ = 30 and keeps ⌈23 / 2⌉ = 12.
    const expected = mode === 'Redis killed half way' ? 30 + 2 * (30 - 12) : 90 - 23
    t.equal(count(answers, 404), expected, `${expected} made-up ids reached Zoho`)
    t.same(
      answers.slice(0, expected).map((r) => r.statusCode),
      Array(expected).fill(404),
      'the first ones',
    )
    t.equal(count(answers, 429), 100 - expected)
    t.equal(sandbox.stats.contactCalls, expected)
    // The reserve is there for the other caller, at once.
    t.equal((await ask(apps[0] as TestApp['app'], '460000000031001', POS)).statusCode, 200)
    t.equal((await ask(apps.at(-1) as TestApp['app'], '460000000026049', POS)).statusCode, 200)
  })
}

t.test('budget 100, 90 cold contacts × 10 concurrent requests on three instances: 900 decisions, 90 Zoho calls', async (t) => {
  const { sandbox, apps } = await setup(t, 'two instances', { ...ONE_CALLER, ZOHO_REQUESTS_PER_MINUTE: '100' }, 3)
  const ids = addContacts(sandbox, 90, '73')
  const answers = await Promise.all(
    ids.flatMap((id, i) => Array.from({ length: 10 }, (_, j) => ask(apps[(i + j) % 3] as TestApp['app'], id, SHOP))),
  )
  t.equal(count(answers, 200), 900)
  t.equal(sandbox.stats.contactCalls, 90, 'one Zoho call per contact across the instances')
  t.notOk(sandbox.stats.byStatus.has(429))
})

t.test(
  '…and with Redis killed half way: each contact’s requests on one instance (single flight across instances needs Redis)',
  async (t) => {
    const { sandbox, apps, halfWay } = await setup(t, 'Redis killed half way', { ...ONE_CALLER, ZOHO_REQUESTS_PER_MINUTE: '100' }, 3)
    const ids = addContacts(sandbox, 90, '74')
    const burst = (some: string[]) =>
      Promise.all(some.flatMap((id, i) => Array.from({ length: 10 }, () => ask(apps[i % 3] as TestApp['app'], id, SHOP))))
    const answers = await burst(ids.slice(0, 45))
    await halfWay()
    // 45 calls spent: each of three instances may make ⌊55 / 3⌋ = 18 more, and is asked for 15 contacts.
    answers.push(...(await burst(ids.slice(45))))
    t.equal(count(answers, 200), 900)
    t.equal(sandbox.stats.contactCalls, 90)
    t.notOk(sandbox.stats.byStatus.has(429))
  },
)

// Issue 13, finding 5 (failed before its fix).
t.test("one caller asking for 120 made-up contacts spends its share of the Zoho budget, not everyone's", async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const POS = { 'x-api-key': 'pos-key-0123456789abcdef' }
  const env = {
    ...KEYS,
    API_KEYS: `${KEYS.API_KEYS},pos:pos-key-0123456789abcdef`,
    REDIS_URL: redis.url,
    ZOHO_REQUESTS_PER_MINUTE: '20',
    RATE_LIMIT_PER_MINUTE: '0',
    RULES_DIR: await contactOnlyRules(t),
  }
  // Two instances: the share is counted across them.
  const apps = [(await startApp(t, sandbox, { env })).app, (await startApp(t, sandbox, { env })).app]
  const made = Array.from({ length: 120 }, (_, i) => `99${String(i).padStart(10, '0')}`)
  const answers = []
  for (const [i, id] of made.entries())
    answers.push(await (apps[i % 2] as (typeof apps)[0]).inject({ url: `/contacts/${id}/risk`, headers: CALLER }))
  const statuses = answers.map((r) => r.statusCode)
  t.same(statuses.slice(0, 15), Array(15).fill(404), 'the budget of 20 less the reserve of ⌈20 / 4⌉ = 5: fifteen look-ups reach Zoho')
  t.same(statuses.slice(15), Array(105).fill(429), "the rest are this caller's own 429, not everyone's 503")
  t.equal(sandbox.stats.contactCalls, 15)
  const refused = answers[15] as (typeof answers)[0]
  t.match(problem(t, refused, 429, 'rate_limited'), {
    detail: /^this caller started 15 Zoho calls for uncached contacts of organization 10234695 in the last minute, its fair part being 10;/,
  })
  t.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 60, 'Retry-After says when')
  // Unknown ids are remembered: asking again costs nothing and is not refused.
  t.equal((await (apps[1] as (typeof apps)[0]).inject({ url: `/contacts/${made[0]}/risk`, headers: CALLER })).statusCode, 404)
  // Another caller's uncached contacts still get answers, on either instance, from the reserve.
  for (const app of apps) t.equal((await app.inject({ url: '/contacts/460000000031001/risk', headers: POS })).statusCode, 200)
  t.equal((await (apps[0] as (typeof apps)[0]).inject({ url: '/contacts/460000000026049/risk', headers: POS })).statusCode, 200)
  t.equal(sandbox.stats.contactCalls, 17)
  t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never refused us')
})

// Issue 13, finding 5 (failed before its fix).
t.test('with a single key, or without keys, there is no one to share the Zoho budget with', async (t) => {
  const sandbox = await startSandbox(t)
  const rules = await contactOnlyRules(t)
  const env = { ZOHO_REQUESTS_PER_MINUTE: '4', RATE_LIMIT_PER_MINUTE: '0', RULES_DIR: rules }
  const single = (await startApp(t, sandbox, { env: { ...env, API_KEYS: KEYS.API_KEYS } })).app
  const open = (await startApp(t, sandbox, { env })).app
  for (const [app, headers, what] of [
    [single, CALLER, 'the one key may spend the whole budget'],
    [open, {}, 'without keys (development), neither is the budget split'],
  ] as const) {
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await app.inject({ url: `/contacts/97${i}${what.length}/risk`, headers })).statusCode)
    t.same(statuses, [404, 404, 404, 404], what)
  }
})
