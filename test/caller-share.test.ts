import pino from 'pino'
import t from 'tap'
import { createMemoryCallerShare } from '../src/adapters/memory-caller-share.js'
import { callerShareKey, createRedisCallerShare } from '../src/adapters/redis/caller-share.js'
import { connectRedis } from '../src/adapters/redis/link.js'
import type { CallerShare } from '../src/services/contacts.js'
import { startRedis } from './helpers/redis.js'

/** Each caller's part of the Zoho budget: in this process on a clock, and across instances in a private Redis. */
const ORG = '10234695'
const T0 = Date.parse('2026-11-24T10:00:00.000Z')

t.test('in process: the limit per caller and organization, in a sliding minute', async (t) => {
  const clock = { ms: T0 }
  const share = createMemoryCallerShare(2, () => clock.ms)
  t.same(await share.take(ORG, 'shop'), { ok: true })
  clock.ms += 10_000
  t.same(await share.take(ORG, 'shop'), { ok: true })
  clock.ms += 5_000
  t.same(await share.take(ORG, 'shop'), { ok: false, retryAfterMs: 45_000, limit: 2 }, 'the oldest call leaves the minute in 45 s')
  t.same(await share.take(ORG, 'pos'), { ok: true }, 'another caller has its own share')
  t.same(await share.take('10234696', 'shop'), { ok: true }, 'and so has another organization')
  t.same(await share.take(`${ORG}\nshop`, ''), { ok: true }, 'names cannot run into each other')
  clock.ms = T0 + 59_999
  t.equal((await share.take(ORG, 'shop')).ok, false, 'a call 59.999 s old is still in the minute')
  clock.ms = T0 + 60_000
  t.same(await share.take(ORG, 'shop'), { ok: true }, 'a call 60 s old has left it')
  t.same(await share.take(ORG, 'shop'), { ok: false, retryAfterMs: 10_000, limit: 2 }, 'a refusal is not counted')
})

t.test('in process: at most 10,000 callers are remembered, the least recently charged forgotten first', async (t) => {
  const clock = { ms: T0 }
  const share = createMemoryCallerShare(1, () => clock.ms)
  await share.take(ORG, 'first')
  t.equal((await share.take(ORG, 'first')).ok, false)
  for (let i = 0; i < 9_999; i++) await share.take(ORG, `caller-${i}`)
  t.equal((await share.take(ORG, 'first')).ok, false, '10,000 callers: the first is still known')
  await share.take(ORG, 'one-more')
  await share.take(ORG, 'caller-0')
  t.equal((await share.take(ORG, 'caller-0')).ok, false, 'a recently refused caller is still known')
  t.equal((await share.take(ORG, 'caller-1')).ok, true, 'the least recently charged is forgotten')
})

t.test('through Redis: one count for every instance, by Redis’s clock; in process while Redis is down', async (t) => {
  const redis = await startRedis(t)
  const silent = pino({ level: 'silent' })
  const instances: CallerShare[] = []
  for (let i = 0; i < 2; i++) {
    const link = await connectRedis(redis.url, silent)
    t.teardown(() => link.close())
    instances.push(createRedisCallerShare(link, 3, createMemoryCallerShare(1)))
  }
  const [a, b] = instances as [CallerShare, CallerShare]
  t.same(await a.take(ORG, 'shop'), { ok: true })
  t.same(await b.take(ORG, 'shop'), { ok: true })
  t.same(await a.take(ORG, 'shop'), { ok: true })
  const refused = await b.take(ORG, 'shop')
  t.equal(refused.ok, false, 'the fourth call of the minute, on either instance, is refused')
  if (!refused.ok) {
    t.equal(refused.limit, 3)
    t.ok(refused.retryAfterMs > 59_000 && refused.retryAfterMs <= 60_000, `retry after ${refused.retryAfterMs} ms`)
  }
  t.same(await b.take(ORG, 'pos'), { ok: true })
  await redis.client.connect()
  const key = callerShareKey(ORG, 'shop')
  t.equal(key, 'creditgate:v1:{10234695}:zoho:caller:shop', 'in the organization’s slot')
  t.equal(await redis.client.zcard(key), 3)
  const ttl = await redis.client.pttl(key)
  t.ok(ttl > 59_000 && ttl <= 61_000, `expires with the minute (${ttl} ms)`)
  await redis.kill()
  // Each instance counts on its own (here a share of 1) until Redis is back; nothing is thrown.
  const down = [await a.take(ORG, 'shop'), await a.take(ORG, 'shop')]
  t.same(
    down.map((v) => v.ok),
    [true, false],
  )
})

t.test('a Redis reply refusing the script fails that call, and is not taken for an outage (issue 31)', async (t) => {
  const redis = await startRedis(t)
  const link = await connectRedis(redis.url, pino({ level: 'silent' }))
  t.teardown(() => link.close())
  await redis.client.connect()
  // A key of the wrong type makes the script fail: the request's error, not Redis's (viaRedis).
  await redis.client.set(callerShareKey(ORG, 'shop'), 'not a sorted set')
  const share = createRedisCallerShare(link, 5, createMemoryCallerShare(1))
  await t.rejects(share.take(ORG, 'shop'), { name: 'ReplyError', message: /^WRONGTYPE/ })
  t.equal(link.up, true, 'Redis stays in use for everyone else')
})
