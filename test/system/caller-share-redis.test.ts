import pino from 'pino'
import t from 'tap'
import { createLocalCallerShare, shareVerdict } from '../../src/adapters/local/caller-share.js'
import { budgetKeys } from '../../src/adapters/redis/budget.js'
import { allowedKey, callerShareKey, callersKey, createRedisCallerShare } from '../../src/adapters/redis/caller-share.js'
import { connectRedis } from '../../src/adapters/redis/link.js'
import { startRedis } from '../helpers/redis.js'

/**
 * The caller share through Redis: the script says what the rule (shareVerdict, unit/caller-share.test.ts)
 * says on the same minute, one count serves every instance, and a refused script is no outage.
 */
const ORG = '10234695'
const B = 90
const R = 23

/** n calls made `gap` ms apart, the last one `age` ms before now. */
const times = (n: number, now: number, gap = 100, age = 1000) => Array.from({ length: n }, (_, i) => now - age - (n - 1 - i) * gap)

t.test('through Redis: the script says what the rule says, on the shared minute, by Redis’s clock', async (t) => {
  const redis = await startRedis(t)
  const link = await connectRedis(redis.url, pino({ level: 'silent' }))
  t.teardown(() => link.close())
  await redis.client.connect()
  const local = createLocalCallerShare(() => ({ perMinute: B, reserve: R, calls: [] }))
  const share = createRedisCallerShare(link, () => ({ budget: B, reserve: R }), local)
  const cases: { spent: number; allowed?: number; mine: number; others: string[]; age?: number }[] = [
    { spent: 66, mine: 66, others: [] },
    { spent: 67, mine: 67, others: [] },
    { spent: 67, mine: 0, others: ['a'] },
    { spent: 89, mine: 44, others: ['a'] },
    { spent: 80, mine: 45, others: ['a'] },
    { spent: 80, mine: 29, others: ['a', 'b'] },
    { spent: 80, mine: 30, others: ['a', 'b'] },
    { spent: 90, mine: 10, others: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] },
    { spent: 90, mine: 9, others: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] },
    { spent: 70, mine: 50, others: ['a'], age: 30_000 },
    // Allowed calls not yet in the budget: 70 allowed, the budget has seen 60 of them.
    { spent: 60, allowed: 70, mine: 50, others: ['a'] },
    { spent: 60, allowed: 66, mine: 66, others: [] },
  ]
  for (const c of cases) {
    await redis.client.flushall()
    const [seconds, micros] = (await redis.client.time()) as unknown as [string, string]
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    const spent = times(c.spent, now, 100, c.age ?? 1000)
    const allowed = times(c.allowed ?? 0, now, 50, 500)
    const counted = allowed.length > spent.length ? allowed : spent
    const mine = counted.slice(counted.length - c.mine)
    if (spent.length) await redis.client.zadd(budgetKeys(ORG)[0] as string, ...spent.flatMap((at, i) => [at, `call-${i}`]))
    if (allowed.length) await redis.client.zadd(allowedKey(ORG), ...allowed.flatMap((at, i) => [at, `allowed-${i}`]))
    if (mine.length) await redis.client.zadd(callerShareKey(ORG, 'shop'), ...mine.flatMap((at, i) => [at, `mine-${i}`]))
    // Asked within the minute, and one that asked longer ago does not count.
    await redis.client.zadd(callersKey(ORG), now - 61_000, 'gone', ...c.others.flatMap((name) => [now - 500, name]))
    const expected = shareVerdict({
      perMinute: B,
      reserve: R,
      spent: allowed.length > spent.length ? allowed : spent,
      mine,
      callers: c.others.length + 1,
      now,
    })
    const got = await share.take(ORG, 'shop')
    const what = JSON.stringify(c)
    if (expected.ok || got.ok) t.same(got, expected, what)
    else {
      t.same([got.used, got.fair], [expected.used, expected.fair], what)
      // Redis's clock moved on a little between the seeding and the script.
      t.ok(got.retryAfterMs <= expected.retryAfterMs && got.retryAfterMs > expected.retryAfterMs - 500, `${what}: ${got.retryAfterMs} ms`)
    }
    t.equal(await redis.client.zcard(callerShareKey(ORG, 'shop')), c.mine + (got.ok ? 1 : 0), 'a call is counted only when allowed')
  }
  t.equal(callerShareKey(ORG, 'shop'), 'creditgate:v1:{10234695}:zoho:caller:shop', 'in the organization’s slot')
  t.equal(callersKey(ORG), 'creditgate:v1:{10234695}:zoho:callers')
  t.equal(allowedKey(ORG), 'creditgate:v1:{10234695}:zoho:allowed')
  const ttl = await redis.client.pttl(callersKey(ORG))
  t.ok(ttl > 59_000 && ttl <= 61_000, `the callers expire with the minute (${ttl} ms)`)
  t.equal(await redis.client.zscore(callersKey(ORG), 'gone'), null, 'an ask older than a minute is forgotten')
})

t.test('through Redis: one count for every instance; while Redis is down each goes on from what it saw', async (t) => {
  const redis = await startRedis(t)
  const silent = pino({ level: 'silent' })
  const part = { perMinute: 4, reserve: 1, calls: [] as number[] }
  const instances = []
  for (let i = 0; i < 2; i++) {
    const link = await connectRedis(redis.url, silent)
    t.teardown(() => link.close())
    instances.push(
      createRedisCallerShare(
        link,
        () => ({ budget: 4, reserve: 1 }),
        createLocalCallerShare(() => part),
      ),
    )
  }
  const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]]
  await redis.client.connect()
  // The budget's minute holds 3 calls: 1 left, the reserve. With two callers, a fair part of 2.
  const [seconds] = (await redis.client.time()) as unknown as [string, string]
  await redis.client.zadd(
    budgetKeys(ORG)[0] as string,
    Number(seconds) * 1000,
    'x',
    Number(seconds) * 1000,
    'y',
    Number(seconds) * 1000,
    'z',
  )
  t.same(await a.take(ORG, 'shop'), { ok: true })
  t.same(await a.take(ORG, 'shop'), { ok: true })
  t.match(await b.take(ORG, 'shop'), { ok: false, used: 2, fair: 2 }, 'counted across instances')
  t.match(await b.take(ORG, 'shop'), { ok: false, used: 2 }, 'and a refusal is not counted')
  t.same(await b.take(ORG, 'pos'), { ok: true })
  await redis.kill()
  // Down: each instance decides in process, on its part of the budget, from what it saw.
  part.calls = [Date.now(), Date.now(), Date.now()]
  t.match(await a.take(ORG, 'shop'), { ok: false, used: 2 }, 'a allowed shop its 2 calls')
  t.same(await b.take(ORG, 'shop'), { ok: true }, 'b saw only refusals of shop')
})

t.test('a Redis reply refusing the script fails that call, and is not taken for an outage (issue 31)', async (t) => {
  const redis = await startRedis(t)
  const link = await connectRedis(redis.url, pino({ level: 'silent' }))
  t.teardown(() => link.close())
  await redis.client.connect()
  // A key of the wrong type makes the script fail: the request's error, not Redis's (viaRedis).
  await redis.client.set(callerShareKey(ORG, 'shop'), 'not a sorted set')
  const share = createRedisCallerShare(
    link,
    () => ({ budget: 90, reserve: 23 }),
    createLocalCallerShare(() => ({ perMinute: 1, reserve: 1, calls: [] })),
  )
  await t.rejects(share.take(ORG, 'shop'), { name: 'ReplyError', message: /^WRONGTYPE/ })
  t.equal(link.up, true, 'Redis stays in use for everyone else')
})
