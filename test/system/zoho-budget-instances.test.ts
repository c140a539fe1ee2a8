import t, { type Test } from 'tap'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { addContacts, contactOnlyRules, eventually, problem, startApp, startSandbox, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

/**
 * The Zoho budget is ZOHO_REQUESTS_PER_MINUTE calls per organization per minute, for all
 * instances together, whatever Redis does: Zoho blocks the whole organization past 100.
 */
async function instances(t: Test, n: number, sandbox: Sandbox, redisUrl: string, budget: number): Promise<TestApp[]> {
  // Contact-only rules: every Zoho call counted here is a contact call.
  const env = {
    REDIS_URL: redisUrl,
    ZOHO_REQUESTS_PER_MINUTE: String(budget),
    RATE_LIMIT_PER_MINUTE: '0',
    RULES_DIR: await contactOnlyRules(t),
  }
  const apps: TestApp[] = []
  for (let i = 0; i < n; i++) apps.push(await startApp(t, sandbox, { env }))
  for (const { app } of apps) {
    await eventually(
      async () => new RegExp(`${n} instances`).test((await app.inject({ url: '/readyz' })).json().checks.redis.detail),
      'the instances to see each other',
    )
  }
  return apps
}

const status = async (app: TestApp['app']) => (await app.inject({ url: '/readyz' })).json().status
const allIn = async (apps: TestApp[], wanted: string) => {
  for (const { app } of apps) await eventually(async () => (await status(app)) === wanted, wanted, 15_000)
}
const spread = (apps: TestApp[], ids: string[]) =>
  Promise.all(ids.map((id, i) => (apps[i % apps.length] as TestApp).app.inject({ url: `/contacts/${id}/risk` })))

/** Every answer is a decision or a 503 `upstream_unavailable` with a Retry-After within the minute. */
function decidedOrRefused(t: Test, responses: Awaited<ReturnType<typeof spread>>): number {
  let decided = 0
  for (const res of responses) {
    if (res.statusCode === 200) {
      decided++
      continue
    }
    problem(t, res, 503, 'upstream_unavailable')
    const retryAfter = Number(res.headers['retry-after'])
    if (!(retryAfter >= 1 && retryAfter <= 60)) t.fail(`Retry-After ${res.headers['retry-after']}`)
  }
  return decided
}

t.test('the shared budget: 50 calls a minute for 200 cold contacts across 2 instances', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const ids = addContacts(sandbox, 200, '52')
  const apps = await instances(t, 2, sandbox, redis.url, 50)
  const responses = await spread(apps, ids)
  t.equal(sandbox.stats.contactCalls, 50, 'the whole budget is used, and not one call more')
  t.equal(decidedOrRefused(t, responses), 50)
  t.match(responses.find((r) => r.statusCode === 503)?.json().detail, /budget of 50 calls per minute is spent/)
  t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never answered 429')
})

t.test('calls made while Redis was down count against the minute when it returns', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const ids = addContacts(sandbox, 100, '51')
  const apps = await instances(t, 2, sandbox, redis.url, 50)
  await redis.kill()
  await allIn(apps, 'degraded')
  t.equal(decidedOrRefused(t, await spread(apps, ids.slice(0, 60))), 50, 'each instance spent its half while Redis was down')
  t.equal(sandbox.stats.contactCalls, 50)
  await redis.start()
  await allIn(apps, 'ready')
  t.equal(decidedOrRefused(t, await spread(apps, ids.slice(60))), 0, 'back on Redis, the minute is already spent')
  t.equal(sandbox.stats.contactCalls, 50, 'no more Zoho calls')
  t.notOk(sandbox.stats.byStatus.has(429))
})

t.test('an outage holds the budget for an instance that was idle before it', async (t) => {
  // 30 calls through A with Redis up; Redis killed; 40 cold contacts over A and B; Redis back; 40 more.
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const ids = addContacts(sandbox, 110, '53')
  const [a, b] = (await instances(t, 2, sandbox, redis.url, 50)) as [TestApp, TestApp]
  t.equal(decidedOrRefused(t, await spread([a], ids.slice(0, 30))), 30)
  await redis.kill()
  await allIn([a, b], 'degraded')
  const during = decidedOrRefused(t, await spread([a, b], ids.slice(30, 70)))
  t.equal(during, 20, 'each instance takes half of the 20 calls left')
  await redis.start()
  await allIn([a, b], 'ready')
  decidedOrRefused(t, await spread([a, b], ids.slice(70)))
  t.equal(sandbox.stats.contactCalls, 50, 'Zoho saw exactly the budget in the minute')
  t.notOk(sandbox.stats.byStatus.has(429))
})

t.test('three instances, two of them idle before the outage', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const ids = addContacts(sandbox, 120, '54')
  const apps = await instances(t, 3, sandbox, redis.url, 60)
  t.equal(decidedOrRefused(t, await spread([apps[0] as TestApp], ids.slice(0, 30))), 30)
  await redis.kill()
  await allIn(apps, 'degraded')
  t.equal(decidedOrRefused(t, await spread(apps, ids.slice(30, 90))), 30, 'each takes a third of the 30 calls left')
  await redis.start()
  await allIn(apps, 'ready')
  t.equal(decidedOrRefused(t, await spread(apps, ids.slice(90))), 0)
  t.equal(sandbox.stats.contactCalls, 60, 'Zoho saw exactly the budget in the minute')
})

t.test('while Redis is down, busy instances split what is left of the minute', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const ids = addContacts(sandbox, 120, '50')
  const apps = await instances(t, 2, sandbox, redis.url, 90)
  // 30 calls of the shared minute are spent by both while Redis is up…
  await spread(apps, ids.slice(0, 30))
  t.equal(sandbox.stats.contactCalls, 30)
  await redis.kill()
  await allIn(apps, 'degraded')
  // …then both, cut off from each other, try 45 new contacts each: 30 calls each are left to them.
  t.equal(decidedOrRefused(t, await spread(apps, ids.slice(30))), 60)
  t.equal(sandbox.stats.contactCalls, 90, 'inside the budget of 90')
  t.notOk(sandbox.stats.byStatus.has(429))
})

t.test('an instance that has not reached Redis since it started takes a tenth of the budget', async (t) => {
  const redis = await startRedis(t)
  await redis.kill()
  const sandbox = await startSandbox(t)
  const ids = addContacts(sandbox, 20, '55')
  const { app } = await startApp(t, sandbox, {
    env: { REDIS_URL: redis.url, ZOHO_REQUESTS_PER_MINUTE: '90', RATE_LIMIT_PER_MINUTE: '0', RULES_DIR: await contactOnlyRules(t) },
  })
  t.equal(await status(app), 'degraded')
  t.equal(decidedOrRefused(t, await spread([{ app } as TestApp], ids)), 9)
  t.equal(sandbox.stats.contactCalls, 9)
})
