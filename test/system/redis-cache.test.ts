import t, { type Test } from 'tap'
import { contactKey } from '../../src/adapters/redis/cache.js'
import { flightKeys, LOCK_MS } from '../../src/adapters/redis/flight.js'
import { zohoContact } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { contactOnlyRules, eventually, ORG, ORG2, problem, startApp, startSandbox, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

/** Adds n contacts with fresh ids to the sandbox's default organization; returns their ids. */
function addContacts(sandbox: Sandbox, n: number, prefix = '48'): string[] {
  const contacts = sandbox.organizations.get(ORG) as Map<string, Record<string, unknown>>
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}${String(i).padStart(13, '0')}`
    contacts.set(id, zohoContact(id, `Customer ${i}`, { outstanding_receivable_amount_bcy: (i % 3) * 30000 }))
    return id
  })
}

/** n instances on one Redis, deciding with the contact-only rules: the Zoho calls counted here are all contact calls. */
async function instances(t: Test, n: number, sandbox: Sandbox, env: Record<string, string>) {
  const apps: TestApp[] = []
  const rules = await contactOnlyRules(t)
  for (let i = 0; i < n; i++) apps.push(await startApp(t, sandbox, { env: { RULES_DIR: rules, ...env } }))
  return apps
}

t.test('contacts are cached in Redis under the contract key', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { REDIS_URL: redis.url } })
  const first = (await app.inject({ url: '/contacts/460000000026049/risk' })).json()
  t.equal(first.contact.source, 'zoho')
  const key = contactKey(ORG, '460000000026049')
  t.equal(key, 'creditgate:v1:10234695:contact:460000000026049')
  await redis.client.connect()
  const stored = JSON.parse((await redis.client.get(key)) as string)
  t.equal(stored.fetched_at, first.contact.fetched_at)
  t.equal(stored.contact.contact_id, '460000000026049')
  t.equal(stored.contact.exchange_rate, '', 'the whole contact, "" values included')
  const ttl = await redis.client.ttl(key)
  t.ok(ttl > 86_000 && ttl <= 86_400, `kept for CONTACT_STALE_TTL_SECONDS (ttl ${ttl})`)
  const second = (await app.inject({ url: '/contacts/460000000026049/risk' })).json()
  t.equal(second.contact.source, 'cache')
  t.equal(sandbox.stats.contactCalls, 1)
})

t.test('a corrupt entry in Redis is ignored and refetched', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  await redis.client.connect()
  const key = contactKey(ORG, '460000000026049')
  const corrupts = ['{"fetched_at":"2026-11-24T10:00:00.000Z","contact":{"contact_id":"x"}}', 'not json at all']
  for (const corrupt of corrupts) {
    await redis.client.set(key, corrupt)
    // A new instance for each: it has no copy of its own and must read Redis.
    const other = await startApp(t, sandbox, { env: { REDIS_URL: redis.url } })
    t.equal((await other.app.inject({ url: '/contacts/460000000026049/risk' })).json().contact.source, 'zoho')
    t.equal(JSON.parse((await redis.client.get(key)) as string).contact.contact_id, '460000000026049', 'overwritten with a good copy')
  }
  t.equal(sandbox.stats.contactCalls, corrupts.length, 'one Zoho call per corrupt entry')
})

t.test('the in-process hot copy is trusted only while no purge can have been missed', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { REDIS_URL: redis.url } })
  await redis.client.connect()
  const url = '/contacts/460000000026049/risk'
  const key = contactKey(ORG, '460000000026049')
  t.equal((await app.inject({ url })).json().contact.source, 'zoho')
  t.equal((await app.inject({ url })).json().contact.source, 'cache')
  // Change the shared copy behind the instance's back: its hot copy still answers…
  const entry = JSON.parse((await redis.client.get(key)) as string)
  entry.contact.outstanding_receivable_amount_bcy = 1
  await redis.client.set(key, JSON.stringify(entry), 'EX', 3600)
  t.equal((await app.inject({ url })).json().facts.outstanding_bcy, 62400, 'served from memory, no Redis round trip')
  // …until its subscription drops: a purge could have been missed, so Redis is read again.
  await redis.client.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await eventually(async () => (await app.inject({ url })).json().facts.outstanding_bcy === 1, 'the shared copy to be read')
  t.equal(sandbox.stats.contactCalls, 1, 'without asking Zoho again')
})

t.test('not-found is cached briefly in Redis', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { REDIS_URL: redis.url } })
  await redis.client.connect()
  problem(t, await app.inject({ url: '/contacts/460000000099999/risk' }), 404, 'contact_not_found')
  const notFoundKey = contactKey(ORG, '460000000099999')
  t.match(JSON.parse((await redis.client.get(notFoundKey)) as string), { not_found: true })
  const ttl = await redis.client.ttl(notFoundKey)
  t.ok(ttl > 0 && ttl <= 60, `for a minute (ttl ${ttl})`)
})

t.test('1,000 concurrent requests over 100 uncached contacts: 100 Zoho calls, 1 token', async (t) => {
  for (const count of [1, 3]) {
    t.test(`${count} instance${count > 1 ? 's' : ''} sharing one Redis`, async (t) => {
      const redis = await startRedis(t)
      const sandbox = await startSandbox(t)
      const ids = addContacts(sandbox, 100)
      const apps = await instances(t, count, sandbox, { REDIS_URL: redis.url, ZOHO_REQUESTS_PER_MINUTE: '100' })
      const responses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => (apps[i % count] as TestApp).app.inject({ url: `/contacts/${ids[i % 100]}/risk` })),
      )
      const statuses = new Map<number, number>()
      for (const r of responses) statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1)
      t.same(Object.fromEntries(statuses), { 200: 1000 })
      t.equal(sandbox.stats.contactCalls, 100, 'exactly one Zoho call per contact')
      t.equal(Math.max(...sandbox.stats.byContact.values()), 1)
      t.equal(sandbox.stats.tokenCalls, 1, 'one access token for everyone')
      t.notOk(sandbox.stats.byStatus.has(429))
      const sources = new Set(responses.map((r) => r.json().contact.source))
      t.ok(sources.has('zoho'))
    })
  }
})

t.test("Zoho's 429 pauses the organization for every instance", async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const [a, b] = await instances(t, 2, sandbox, { REDIS_URL: redis.url })
  sandbox.faults.contact.push({ status: 429, body: { code: 44, message: 'too many' }, headers: { 'retry-after': '30' } })
  const first = await (a as TestApp).app.inject({ url: '/contacts/460000000031001/risk' })
  t.equal(problem(t, first, 503, 'upstream_unavailable').code, 'upstream_unavailable')
  t.equal(first.headers['retry-after'], '30')
  const second = await (b as TestApp).app.inject({ url: '/contacts/460000000031002/risk' })
  t.match(problem(t, second, 503, 'upstream_unavailable').detail, /back off/)
  t.ok(Number(second.headers['retry-after']) > 25, 'the other instance tells the truth about the wait')
  t.equal(sandbox.stats.contactCalls, 1)
  const other = await (b as TestApp).app.inject({ url: `/contacts/470000000010001/risk?organization_id=${ORG2}` })
  t.equal(other.statusCode, 200, 'other organizations are not paused')
})

t.test('a stale copy is served, flagged, only when Zoho cannot answer', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const [{ app }, other] = (await instances(t, 2, sandbox, { REDIS_URL: redis.url })) as [TestApp, TestApp]
  const fresh = (await app.inject({ url: '/contacts/460000000026049/risk?order_amount=100' })).json()
  await redis.client.connect()
  const key = contactKey(ORG, '460000000026049')
  const entry = JSON.parse((await redis.client.get(key)) as string)
  entry.fetched_at = new Date(Date.now() - 600_000).toISOString()
  await redis.client.set(key, JSON.stringify(entry), 'EX', 3600)
  sandbox.faults.down = true
  // An instance that holds no copy of its own sees the shared one, past its TTL.
  const stale = await other.app.inject({ url: '/contacts/460000000026049/risk?order_amount=100' })
  t.equal(stale.statusCode, 200)
  t.match(stale.json(), { decision: fresh.decision, contact: { source: 'stale', age_seconds: 600 } })
  t.same(stale.json().reasons, fresh.reasons)
  t.same(stale.json().alerts, fresh.alerts)
  t.equal(stale.json().facts.contact_age_seconds, 600)
  const uncached = await app.inject({ url: '/contacts/460000000031001/risk' })
  problem(t, uncached, 503, 'upstream_unavailable')
  t.equal(uncached.headers['retry-after'], '5')
  sandbox.faults.down = false
  const refreshed = (await other.app.inject({ url: '/contacts/460000000026049/risk' })).json()
  t.equal(refreshed.contact.source, 'zoho', 'once Zoho answers, the stale copy is replaced')
})

t.test('a rejected token is refreshed once for all instances', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const apps = await instances(t, 3, sandbox, { REDIS_URL: redis.url, CONTACT_CACHE_TTL_SECONDS: '0' })
  await (apps[0] as TestApp).app.inject({ url: '/contacts/460000000031001/risk' })
  t.equal(sandbox.stats.tokenCalls, 1)
  sandbox.revokeTokens()
  const responses = await Promise.all(apps.map(({ app }, i) => app.inject({ url: `/contacts/46000000003100${i + 2}/risk` })))
  t.same(
    responses.map((r) => r.statusCode),
    [200, 200, 200],
  )
  t.equal(sandbox.stats.tokenCalls, 2, 'one refresh, not one per instance')
})

t.test('a crashed lock holder does not wedge anyone', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { REDIS_URL: redis.url } })
  await redis.client.connect()
  // An instance took the lock for this contact and died: nobody renews it, nobody publishes.
  await redis.client.set(flightKeys(`${ORG}:460000000031001`).lock, 'dead-instance', 'PX', LOCK_MS)
  const started = Date.now()
  const res = await app.inject({ url: '/contacts/460000000031001/risk' })
  const waited = Date.now() - started
  t.equal(res.statusCode, 200)
  t.equal(res.json().contact.source, 'zoho')
  t.ok(waited < LOCK_MS + 1500, `answered after ${waited} ms`)
  t.equal(sandbox.stats.contactCalls, 1)
})

t.test('Redis killed under load and restarted: no 5xx, no slow request, back on Redis', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const ids = addContacts(sandbox, 60, '49')
  const budget = 90
  const { app } = await startApp(t, sandbox, {
    env: { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '0', ZOHO_REQUESTS_PER_MINUTE: String(budget) },
  })
  // Before the kill the load touches 40 contacts; while Redis is down 20 more, which the
  // instance must fetch from Zoho inside its budget; after the restart all 60.
  let seen = 40
  let stop = false
  const statuses = new Map<number, number>()
  let slowest = 0
  let requests = 0
  const worker = async (w: number) => {
    for (let i = w; !stop; i += 7) {
      const started = Date.now()
      const res = await app.inject({ url: `/contacts/${ids[i % seen]}/risk` })
      slowest = Math.max(slowest, Date.now() - started)
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      requests++
      await new Promise((r) => setImmediate(r)) // inject never touches the network: let timers run
    }
  }
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)))
  await eventually(() => requests > 200, 'load before the kill')
  await redis.kill()
  seen = 60
  await eventually(async () => (await app.inject({ url: '/readyz' })).json().status === 'degraded', 'readyz to say degraded')
  const atKill = requests
  await eventually(() => requests > atKill + 300, 'load while Redis is down', 15_000)
  await redis.start()
  await eventually(async () => (await app.inject({ url: '/readyz' })).json().status === 'ready', 'readyz to say ready again', 15_000)
  const atRestart = requests
  await eventually(() => requests > atRestart + 200, 'load after the restart')
  stop = true
  await load
  t.same([...statuses.keys()], [200], `every answer was 200 (${JSON.stringify(Object.fromEntries(statuses))})`)
  t.ok(slowest < 3000, `the slowest request took ${slowest} ms`)
  t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never answered 429')
  t.ok(sandbox.stats.contactCalls <= budget, `${sandbox.stats.contactCalls} Zoho calls in all: inside one minute's budget of ${budget}`)
  await redis.client.connect()
  await app.inject({ url: `/contacts/460000000031005/risk` })
  t.ok(await redis.client.exists(contactKey(ORG, '460000000031005')), 'new contacts land in Redis again')
})

t.test('Redis down at start: the service starts degraded and recovers', async (t) => {
  const redis = await startRedis(t)
  await redis.kill()
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { REDIS_URL: redis.url } })
  t.match((await app.inject({ url: '/readyz' })).json(), { status: 'degraded', checks: { redis: { ok: true, degraded: true } } })
  t.equal((await app.inject({ url: '/contacts/460000000031001/risk' })).statusCode, 200)
  await redis.start()
  await eventually(async () => (await app.inject({ url: '/readyz' })).json().status === 'ready', 'recovery', 15_000)
})

t.test('invalidation: webhook with the right and the wrong secret; purge with an admin and a caller key', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const secret = 'webhook-secret-0123456789'
  const env = {
    REDIS_URL: redis.url,
    API_KEYS: 'shop:shop-key-0123456789abcdef',
    ADMIN_API_KEYS: 'ops:ops-key-0123456789abcdef',
    WEBHOOK_SECRET: secret,
  }
  const [a, b] = await instances(t, 2, sandbox, env)
  const caller = { authorization: 'Bearer shop-key-0123456789abcdef' }
  const url = '/contacts/460000000031001/risk'
  const decide = async (instance = a) => (await (instance as TestApp).app.inject({ url, headers: caller })).json().contact.source
  t.equal(await decide(), 'zoho')
  t.equal(await decide(b), 'cache', 'the other instance reads the shared copy')

  const wrong = await (a as TestApp).app.inject({
    method: 'POST',
    url: '/webhooks/zoho',
    headers: { 'x-webhook-secret': 'nope' },
    payload: { contact_id: '460000000031001' },
  })
  problem(t, wrong, 401, 'unauthorized')
  const missing = await (a as TestApp).app.inject({ method: 'POST', url: '/webhooks/zoho', payload: { contact_id: '460000000031001' } })
  problem(t, missing, 401, 'unauthorized')
  t.equal(await decide(), 'cache', 'a refused webhook invalidates nothing')

  const hook = await (b as TestApp).app.inject({
    method: 'POST',
    url: '/webhooks/zoho',
    headers: { 'x-webhook-secret': secret },
    payload: { contact: { contact_id: '460000000031001', contact_name: 'Bright Foods', outstanding_receivable_amount_bcy: 1 } },
  })
  t.equal(hook.statusCode, 200)
  t.same(hook.json(), { invalidated: [ORG, ORG2].map((org) => ({ organization_id: org, contact_id: '460000000031001' })) })
  await eventually(async () => (await decide()) === 'zoho', 'the webhook to invalidate the copy every instance keeps')

  const again = await (b as TestApp).app.inject({
    method: 'POST',
    url: `/webhooks/zoho?secret=${secret}`,
    payload: { contact_id: '460000000031001' },
  })
  t.equal(again.statusCode, 200, 'the secret works as a query parameter; repeating is harmless')
  const form = await (a as TestApp).app.inject({
    method: 'POST',
    url: `/webhooks/zoho?secret=${secret}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `contact_id=460000000031001&organization_id=${ORG}`,
  })
  t.same(form.json(), { invalidated: [{ organization_id: ORG, contact_id: '460000000031001' }] }, 'form field contact_id')
  t.equal(await decide(), 'zoho')
  problem(
    t,
    await (a as TestApp).app.inject({ method: 'POST', url: `/webhooks/zoho?secret=${secret}`, payload: { hello: 1 } }),
    400,
    'invalid_request',
  )
  problem(
    t,
    await (a as TestApp).app.inject({ method: 'POST', url: `/webhooks/zoho?secret=${secret}`, payload: { contact_id: 'x1' } }),
    400,
    'invalid_request',
  )

  const purgeUrl = '/contacts/460000000031001/cache'
  problem(t, await (a as TestApp).app.inject({ method: 'DELETE', url: purgeUrl }), 401, 'unauthorized')
  problem(t, await (a as TestApp).app.inject({ method: 'DELETE', url: purgeUrl, headers: caller }), 403, 'forbidden')
  t.equal(await decide(), 'cache', 'refused purges change nothing')
  const purge = await (b as TestApp).app.inject({
    method: 'DELETE',
    url: `${purgeUrl}?organization_id=${ORG}`,
    headers: { 'x-api-key': 'ops-key-0123456789abcdef' },
  })
  t.equal(purge.statusCode, 200)
  t.same(purge.json(), { invalidated: [{ organization_id: ORG, contact_id: '460000000031001' }] })
  // The other instance hears of it through Redis pub/sub, a moment later.
  await eventually(async () => (await decide()) === 'zoho', 'the purge to reach the other instance')
  problem(
    t,
    await (b as TestApp).app.inject({ method: 'DELETE', url: '/contacts/abc/cache', headers: { 'x-api-key': 'ops-key-0123456789abcdef' } }),
    400,
    'invalid_contact_id',
  )
})

t.test('without WEBHOOK_SECRET or ADMIN_API_KEYS those routes are disabled', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  const hook = await app.inject({ method: 'POST', url: '/webhooks/zoho', payload: { contact_id: '1' } })
  t.match(problem(t, hook, 403, 'forbidden').detail, /WEBHOOK_SECRET/)
  const purge = await app.inject({ method: 'DELETE', url: '/contacts/1/cache' })
  t.match(problem(t, purge, 403, 'forbidden').detail, /ADMIN_API_KEYS/)
})
