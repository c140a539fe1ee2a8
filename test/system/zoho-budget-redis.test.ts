import pino from 'pino'
import t, { type Test } from 'tap'
import type { BudgetLimits } from '../../src/adapters/local/budget.js'
import { budgetKeys, createRedisBudget } from '../../src/adapters/redis/budget.js'
import { connectRedis, EVENTS_CHANNEL, type RedisEvent } from '../../src/adapters/redis/link.js'
import type { ZohoBudget } from '../../src/adapters/zoho/ports.js'
import { eventually } from '../helpers/app.js'
import { clock, limits, ORG, OTHER, refusal, T, THIRD, taken } from '../helpers/budget.js'
import { bigString, heapInUse } from '../helpers/heap.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'

/**
 * The shared Zoho budget on a private redis-server, each RedisLink to it standing for one
 * instance. The in-process budget and the rules it shares: unit/zoho-budget.test.ts.
 */

const silent = pino({ level: 'silent' })

interface Instance {
  link: Awaited<ReturnType<typeof connectRedis>>
  budget: ZohoBudget
  /**
   * From now on the budget sees its event subscription as dropped. Killing Redis drops both
   * connections at once, in an order the test cannot choose; this makes "the subscription had
   * dropped before the outage" happen first, for sure.
   */
  dropSubscription(): void
}

/** One creditgate instance's budget on the test's Redis. */
async function instance(t: Test, redis: TestRedis, budgetLimits: BudgetLimits, now?: () => number): Promise<Instance> {
  const link = await connectRedis(redis.url, silent)
  t.teardown(() => link.close())
  let dropped = false
  const seen: typeof link = Object.create(link, { eventsLive: { get: () => !dropped && link.eventsLive } })
  const budget = createRedisBudget(seen, budgetLimits, [ORG, OTHER], now)
  // Its first look at the shared minutes is answered before this (same connection, in order).
  if (link.up) await link.client.ping()
  return {
    link,
    budget,
    dropSubscription: () => {
      dropped = true
    },
  }
}

const gone = (...instances: Instance[]) => eventually(() => instances.every((i) => !i.link.up), 'the instances to see Redis gone')

t.test('the shared budget', async (t) => {
  t.test('instances share the minute', async (t) => {
    const redis = await startRedis(t)
    const a = await instance(t, redis, limits({ requestsPerMinute: 3 }))
    const b = await instance(t, redis, limits({ requestsPerMinute: 3 }))
    await a.budget.acquire(ORG)
    await b.budget.acquire(ORG)
    await a.budget.acquire(ORG)
    const spent = await refusal(b.budget.acquire(ORG))
    t.equal(spent.detail, `no Zoho call for organization ${ORG}: the budget of 3 calls per minute is spent`)
    t.ok(spent.verdict.retryAfterMs > 50_000 && spent.verdict.retryAfterMs <= 60_000, 'until the first call is a minute old')
    // What GET /zoho/budget shows: every instance's calls, as announced through Redis.
    await eventually(() => a.budget.callsLastMinute(ORG) === 3 && b.budget.callsLastMinute(ORG) === 3, 'both instances to know the 3 calls')
    t.equal(a.budget.callsLastMinute(OTHER), 0)
  })

  t.test('background calls leave the reserve to decisions, across instances; while Redis is down, each keeps its part of it', async (t) => {
    const redis = await startRedis(t)
    const a = await instance(t, redis, limits({ requestsPerMinute: 5, reserve: 2 }))
    const b = await instance(t, redis, limits({ requestsPerMinute: 5, reserve: 2 }))
    await a.budget.acquire(ORG, { background: true })
    await b.budget.acquire(ORG, { background: true })
    await a.budget.acquire(ORG)
    const kept = await refusal(b.budget.acquire(ORG, { background: true }))
    t.equal(kept.verdict.limit, 3, 'the background part: 5 − 2')
    t.equal(await taken(b.budget.acquire(ORG)), true, 'a decision still gets one')
    t.equal(await taken(a.budget.acquire(ORG)), true, 'and the last')
    t.equal(await taken(a.budget.acquire(ORG)), false)
    await eventually(() => a.link.instances === 2 && b.link.instances === 2, 'each instance to count two', 5000)
    await redis.kill()
    await gone(a, b)
    // Two instances, none of the other organization's minute spent: each may make ⌊5 / 2⌋ = 2, keeping ⌈2 / 2⌉ = 1.
    t.match(a.budget.part(OTHER), { perMinute: 2, reserve: 1, calls: [] })
    t.equal(await taken(a.budget.acquire(OTHER, { background: true })), true)
    t.equal(await taken(a.budget.acquire(OTHER, { background: true })), false, 'one call of the part is kept')
    t.equal(await taken(a.budget.acquire(OTHER)), true)
    t.equal(a.budget.part(OTHER).calls.length, 2)
  })

  t.test('instances share the calls in flight; a released call frees its slot for any of them', async (t) => {
    const redis = await startRedis(t)
    const a = await instance(t, redis, limits({ maxConcurrency: 2 }))
    const b = await instance(t, redis, limits({ maxConcurrency: 2 }))
    const first = await a.budget.acquire(ORG)
    await b.budget.acquire(ORG)
    const busy = await refusal(a.budget.acquire(ORG))
    t.equal(busy.detail, `no Zoho call for organization ${ORG}: 2 calls are already in flight`)
    t.equal(busy.retryAfterSeconds, 1)
    first()
    await a.link.client.ping() // the release is sent on this connection before the ping
    t.equal(await taken(b.budget.acquire(ORG)), true, 'freed at once, not when its lease runs out')
  })

  t.test('a pause asked by one instance holds for all', async (t) => {
    const redis = await startRedis(t)
    const a = await instance(t, redis, limits({}))
    const b = await instance(t, redis, limits({}))
    await a.budget.pause(ORG, 30)
    const paused = await refusal(b.budget.acquire(ORG))
    t.equal(paused.detail, `no Zoho call for organization ${ORG}: Zoho asked us to back off`)
    t.ok(paused.verdict.retryAfterMs > 25_000 && paused.verdict.retryAfterMs <= 30_000)
  })

  t.test('each organization has its own minute, calls in flight and pause', async (t) => {
    const redis = await startRedis(t)
    const a = await instance(t, redis, limits({ requestsPerMinute: 1, maxConcurrency: 1 }))
    await a.budget.acquire(ORG)
    t.equal(await taken(a.budget.acquire(OTHER)), true, 'one call of the minute, in flight, for the first one leaves the second free')
    await a.budget.pause(ORG, 30)
    t.equal(await taken(a.budget.acquire(THIRD)), true, 'a pause of the first one leaves the third free')
  })

  t.test('a pause holds through an outage', async (t) => {
    const redis = await startRedis(t)
    const a = await instance(t, redis, limits({}), clock().now)
    await a.budget.pause(ORG, 30)
    await redis.kill()
    await gone(a)
    const paused = await refusal(a.budget.acquire(ORG))
    t.equal(paused.verdict.reason, 'paused')
    t.equal(paused.verdict.retryAfterMs, 30_000)
  })

  t.test('while Redis is down, the calls other instances announced count', async (t) => {
    const redis = await startRedis(t)
    await redis.client.connect()
    const a = await instance(t, redis, limits({ requestsPerMinute: 4 }), clock().now)
    const announced = new Set<string>()
    a.link.onEvent((event) => {
      if (event.type === 'flight_done') announced.add(event.key)
    })
    const events: RedisEvent[] = [
      { type: 'zoho_call', org: ORG, id: 'newer', at: T - 10_000 },
      { type: 'zoho_call', org: ORG, id: 'older', at: T - 50_000 },
      { type: 'zoho_call', org: ORG, id: 'a minute old', at: T - 60_000 },
      { type: 'zoho_call', org: OTHER, id: 'elsewhere', at: T - 5_000 },
      { type: 'invalidated', org: ORG, contactId: '1' },
      { type: 'flight_done', key: 'last' },
    ]
    for (const event of events) await redis.client.publish(EVENTS_CHANNEL, JSON.stringify(event))
    await eventually(() => announced.has('last'), 'the announcements to arrive')
    await redis.kill()
    await gone(a)
    await a.budget.acquire(ORG)
    await a.budget.acquire(ORG)
    const spent = await refusal(a.budget.acquire(ORG))
    t.equal(spent.detail, `no Zoho call for organization ${ORG}: the budget of 2 calls per minute is spent`, '⌊(4 − 2) / 1⌋')
    t.equal(spent.verdict.retryAfterMs, 10_000, 'until the older announced call leaves the minute')
  })

  t.test('an announced call is forgotten once one a minute newer is announced', async (t) => {
    const redis = await startRedis(t)
    await redis.client.connect()
    const a = await instance(t, redis, limits({}))
    const marks = new Set<string>()
    a.link.onEvent((event) => {
      if (event.type === 'flight_done') marks.add(event.key)
    })
    /** Publishes the event, then a mark behind it: heard, the event was too. */
    const announce = async (event: RedisEvent) => {
      const mark = `mark ${marks.size}`
      await redis.client.publish(EVENTS_CHANNEL, JSON.stringify(event))
      await redis.client.publish(EVENTS_CHANNEL, JSON.stringify({ type: 'flight_done', key: mark }))
      await eventually(() => marks.has(mark), 'the announcement to arrive')
    }
    const before = heapInUse()
    // A call with an id of 6 MB: kept, it shows in the heap.
    await announce({ type: 'zoho_call', org: ORG, id: bigString(6_000_000), at: T - 60_000 })
    await announce({ type: 'zoho_call', org: ORG, id: 'a minute later', at: T })
    const after = heapInUse()
    t.ok(after - before < 3_000_000, `the heap grew by ${after - before} bytes`)
  })

  t.test('while Redis is down, the calls it held when last read count', async (t) => {
    const redis = await startRedis(t)
    await redis.client.connect()
    // Calls no instance announced (added back after an outage): a later instance reads them.
    await redis.client.zadd(budgetKeys(ORG)[0] as string, T - 10_000, 'c1', T - 40_000, 'c2', T - 20_000, 'c3', T - 30_000, 'c4')
    const a = await instance(t, redis, limits({ requestsPerMinute: 6 }), clock().now)
    // The subscription drops first, as part of the outage: the view read a moment ago still counts.
    a.dropSubscription()
    await redis.kill()
    await gone(a)
    await a.budget.acquire(ORG)
    await a.budget.acquire(ORG)
    const spent = await refusal(a.budget.acquire(ORG))
    t.equal(spent.detail, `no Zoho call for organization ${ORG}: the budget of 2 calls per minute is spent`, '⌊(6 − 4) / 1⌋')
    t.equal(spent.verdict.retryAfterMs, 20_000, 'until the oldest call read leaves the minute')
  })

  t.test('an instance whose view was stale when Redis went away makes no call until a minute has passed', async (t) => {
    const redis = await startRedis(t)
    const time = clock()
    // Just connected: its first look at the shared minutes was at T, its next heartbeat is 2 s away.
    const a = await instance(t, redis, limits({ requestsPerMinute: 4 }), time.now)
    time.set(T + 6_000)
    a.dropSubscription()
    await redis.kill()
    await gone(a)
    const spent = await refusal(a.budget.acquire(ORG))
    t.equal(
      spent.detail,
      `no Zoho call for organization ${ORG}: the budget of 0 calls per minute is spent`,
      'not looked for three heartbeats',
    )
    t.equal(spent.verdict.retryAfterMs, 60_000, 'until a minute after the outage began')
    time.set(T + 66_000)
    t.equal(await taken(a.budget.acquire(ORG)), true)
  })

  t.test('back on Redis, the calls of the last minute made while it was down are in the shared minute', async (t) => {
    const redis = await startRedis(t)
    const start = Date.now() - 60_000
    const time = clock(start)
    const a = await instance(t, redis, limits({ requestsPerMinute: 4 }), time.now)
    await redis.kill()
    await gone(a)
    await a.budget.acquire(ORG)
    await a.budget.acquire(OTHER)
    time.set(start + 30_000)
    await a.budget.acquire(ORG)
    await a.budget.acquire(ORG)
    time.set(start + 60_000)
    await redis.start()
    await eventually(() => a.link.up, 'the instance to use Redis again', 10_000)
    await redis.client.connect()
    t.same(await redis.client.zcard(budgetKeys(ORG)[0] as string), 2, 'the two calls of the last minute, not the one a minute old')
    t.same(await redis.client.zcard(budgetKeys(OTHER)[0] as string), 0)
    t.ok((await redis.client.pttl(budgetKeys(ORG)[0] as string)) > 60_000, 'kept for the whole minute')
    await a.budget.acquire(ORG)
    await a.budget.acquire(ORG)
    t.equal((await refusal(a.budget.acquire(ORG))).verdict.reason, 'spent')
  })

  t.test('back on Redis, an add-back that fails takes Redis down again; the next return adds the calls', async (t) => {
    const redis = await startRedis(t)
    const a = await instance(t, redis, limits({}), clock(Date.now()).now)
    await redis.kill()
    await gone(a)
    await a.budget.acquire(ORG)
    await a.budget.acquire(ORG)
    const calls = budgetKeys(ORG)[0] as string
    // The first return finds the calls' key holding a value of another type: the add-back fails.
    let returns = 0
    a.link.beforeUp(async () => {
      returns++
      if (returns === 1) await a.link.client.set(calls, 'not a sorted set')
      else await a.link.client.del(calls)
    }, 'check')
    await redis.start()
    await eventually(() => a.link.up, 'the instance to use Redis again', 10_000)
    t.ok(returns >= 2, 'not used until a return added the calls')
    await redis.client.connect()
    t.equal(await redis.client.zcard(calls), 2)
  })

  t.test('an instance that has not reached Redis since it started takes a tenth of the budget', async (t) => {
    const redis = await startRedis(t)
    await redis.kill()
    const a = await instance(t, redis, limits({ requestsPerMinute: 20 }), clock().now)
    ;(await a.budget.acquire(ORG))()
    ;(await a.budget.acquire(ORG))()
    const spent = await refusal(a.budget.acquire(ORG))
    t.equal(spent.detail, `no Zoho call for organization ${ORG}: the budget of 2 calls per minute is spent`)
  })
})
