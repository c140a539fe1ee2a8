import t from 'tap'
import { eventually, problem, startApp, startSandbox } from '../helpers/app.js'
import { ERP_KEY, TWO_CALLERS as KEYS, SHOP_KEY } from '../helpers/keys.js'
import { startRedis } from '../helpers/redis.js'

/** Callers' rate limits (RATE_LIMIT_PER_MINUTE): per key, per address without keys, shared through Redis. */

t.test('caller rate limits: 429 rate_limited with Retry-After, per key', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...KEYS, RATE_LIMIT_PER_MINUTE: '5' } })
  const ask = (key: string) => app.inject({ url: '/contacts/460000000031001/risk', headers: { authorization: `Bearer ${key}` } })
  for (let i = 0; i < 5; i++) t.equal((await ask(SHOP_KEY)).statusCode, 200)
  const limited = await ask(SHOP_KEY)
  t.match(problem(t, limited, 429, 'rate_limited').detail, /more than 5 requests per minute/)
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
  t.equal((await ask(ERP_KEY)).statusCode, 200, 'another key has its own allowance')
  for (let i = 0; i < 10; i++) t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
  t.equal(sandbox.stats.contactCalls, 1, 'throttled requests never reached Zoho')
})

// Issue 13, finding 8 (failed before its fix).
t.test('without API_KEYS, each client address has its own rate-limit bucket', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { RATE_LIMIT_PER_MINUTE: '5' } })
  for (const remoteAddress of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
    const statuses = []
    for (let i = 0; i < 6; i++) statuses.push((await app.inject({ url: '/contacts/460000000031001/risk', remoteAddress })).statusCode)
    t.same(statuses, [200, 200, 200, 200, 200, 429], remoteAddress)
  }
})

t.test('with Redis the rate limit is shared by the instances', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const env = { ...KEYS, REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '6' }
  const a = await startApp(t, sandbox, { env })
  const b = await startApp(t, sandbox, { env })
  const headers = { 'x-api-key': SHOP_KEY }
  for (let i = 0; i < 3; i++) {
    t.equal((await a.app.inject({ url: '/contacts/460000000031001/risk', headers })).statusCode, 200)
    t.equal((await b.app.inject({ url: '/contacts/460000000031001/risk', headers })).statusCode, 200)
  }
  // Each instance adds its count to the shared one every 100 ms, not on every request, and
  // learns the others' counts then: the limit holds to within one flush of each instance.
  await redis.client.connect()
  const shared = async () => Number(await redis.client.get('creditgate:v1:ratelimit:shop'))
  await eventually(async () => (await shared()) === 6, 'both counts in Redis')
  let extra = 0
  let sent = 0
  for (const instance of [a, b, a, b]) {
    const res = await instance.app.inject({ url: '/contacts/460000000031001/risk', headers })
    // Every request counts, a refused one too: the shared count grows by one per request.
    const expected = 6 + ++sent
    if (res.statusCode === 200) {
      extra++
      await eventually(async () => (await shared()) === expected, 'the extra request to reach Redis')
    } else problem(t, res, 429, 'rate_limited')
  }
  t.ok(extra <= 1, `${extra} request(s) over the shared limit of 6, while one instance had not yet heard of the other's`)
  problem(t, await a.app.inject({ url: '/contacts/460000000031001/risk', headers }), 429, 'rate_limited')
  problem(t, await b.app.inject({ url: '/contacts/460000000031001/risk', headers }), 429, 'rate_limited')
})
