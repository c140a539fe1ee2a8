import pino from 'pino'
import t, { type Test } from 'tap'
import { acquireWith, type BudgetLimits, createLocalBudget, type Share } from '../../src/adapters/local/budget.js'
import { budgetKeys, createRedisBudget, degradedShare, viewFresh } from '../../src/adapters/redis/budget.js'
import { connectRedis, EVENTS_CHANNEL, type RedisEvent } from '../../src/adapters/redis/link.js'
import { BudgetRefused, type BudgetVerdict, type ZohoBudget } from '../../src/adapters/zoho/ports.js'
import { eventually } from '../helpers/app.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'

/**
 * The Zoho budget on its own: the in-process one with a clock the tests move, and the shared
 * one on a private redis-server, each RedisLink to it standing for one instance.
 */

const ORG = '20001'
const OTHER = '20002'
const THIRD = '20003'
const T = 1_700_000_000_000
const silent = pino({ level: 'silent' })

/** A clock that stands still until the test moves it. */
function clock(start = T) {
  let now = start
  return {
    now: () => now,
    set(at: number) {
      now = at
    },
  }
}

/** The refusal an acquire ends with (a slot taken instead fails the test). */
async function refusal(attempt: Promise<unknown>): Promise<BudgetRefused> {
  try {
    await attempt
  } catch (err) {
    if (err instanceof BudgetRefused) return err
    throw err
  }
  throw new Error('expected a refusal, got a slot')
}

/** Whether an acquire got a slot (true) or was refused (false). */
const taken = (attempt: Promise<unknown>): Promise<boolean> =>
  attempt.then(
    () => true,
    (err) => {
      if (err instanceof BudgetRefused) return false
      throw err
    },
  )

const limits = (overrides: Partial<BudgetLimits>): BudgetLimits => ({ requestsPerMinute: 100, maxConcurrency: 10, waitMs: 0, ...overrides })

t.test('the in-process budget', async (t) => {
  t.test('allows its calls per minute, then refuses until the oldest call leaves the minute', async (t) => {
    const time = clock()
    const budget = createLocalBudget(limits({ requestsPerMinute: 3 }), undefined, time.now)
    await budget.acquire(ORG)
    time.set(T + 10_000)
    await budget.acquire(ORG)
    time.set(T + 20_000)
    await budget.acquire(ORG)
    time.set(T + 30_500)
    const spent = await refusal(budget.acquire(ORG))
    t.equal(spent.detail, `no Zoho call for organization ${ORG}: the budget of 3 calls per minute is spent`)
    t.equal(spent.verdict.retryAfterMs, 29_500, 'until the first call is a minute old')
    t.equal(spent.retryAfterSeconds, 30, 'Retry-After rounds up')
    time.set(T + 59_999)
    t.equal((await refusal(budget.acquire(ORG))).verdict.retryAfterMs, 1)
    time.set(T + 60_000)
    await budget.acquire(ORG)
    t.equal((await refusal(budget.acquire(ORG))).verdict.retryAfterMs, 10_000, 'the second call is now the oldest')
    t.equal(budget.callsLastMinute(ORG), 3, 'the calls of the minute ending now')
    t.equal(budget.callsLastMinute(OTHER), 0)
    time.set(T + 70_000)
    t.equal(budget.callsLastMinute(ORG), 2, 'a call exactly a minute old has left the minute, with no call since')
  })

  t.test('an organization has its own minute', async (t) => {
    const budget = createLocalBudget(limits({ requestsPerMinute: 1 }), undefined, clock().now)
    await budget.acquire(ORG)
    await budget.acquire(OTHER)
    t.equal((await refusal(budget.acquire(ORG))).verdict.reason, 'spent')
  })

  t.test('a share with no call left frees when a known call leaves the minute', async (t) => {
    const asked: [string, number][] = []
    const share = (org: string, now: number): Share => {
      asked.push([org, now])
      return { perMinute: 0, concurrency: 1, freesAt: T + 5_000 }
    }
    const spent = await refusal(createLocalBudget(limits({}), share, clock().now).acquire(ORG))
    t.equal(spent.detail, `no Zoho call for organization ${ORG}: the budget of 0 calls per minute is spent`)
    t.equal(spent.verdict.retryAfterMs, 5_000)
    t.same(asked, [[ORG, T]], 'the share is asked for the organization, now')
  })

  t.test('a share with no call left and none known to free refuses for a minute', async (t) => {
    const share = (): Share => ({ perMinute: 0, concurrency: 1 })
    const spent = await refusal(createLocalBudget(limits({}), share, clock().now).acquire(ORG))
    t.equal(spent.verdict.retryAfterMs, 60_000)
    t.equal(spent.retryAfterSeconds, 60)
  })

  t.test('a share frees at the sooner of its oldest own call and a known one leaving the minute', async (t) => {
    const time = clock()
    const budget = createLocalBudget(limits({}), () => ({ perMinute: 1, concurrency: 1, freesAt: T + 50_000 }), time.now)
    await budget.acquire(ORG)
    time.set(T + 1_000)
    t.equal((await refusal(budget.acquire(ORG))).verdict.retryAfterMs, 49_000)
  })

  t.test('at most maxConcurrency calls in flight; releasing a call twice frees one slot', async (t) => {
    const budget = createLocalBudget(limits({ maxConcurrency: 2 }), undefined, clock().now)
    const first = await budget.acquire(ORG)
    await budget.acquire(ORG)
    const busy = await refusal(budget.acquire(ORG))
    t.equal(busy.detail, `no Zoho call for organization ${ORG}: 2 calls are already in flight`)
    t.equal(busy.retryAfterSeconds, 1)
    first()
    first()
    await budget.acquire(ORG)
    t.equal((await refusal(budget.acquire(ORG))).verdict.reason, 'busy', 'the second release of a call frees nothing')
  })

  t.test('a caller waiting for a slot gets it as soon as a call is released', async (t) => {
    const budget = createLocalBudget(limits({ maxConcurrency: 1, waitMs: 10_000 }), undefined, clock().now)
    const held = await budget.acquire(ORG)
    let got = false
    const waiting = budget.acquire(ORG).then((release) => {
      got = true
      return release
    })
    await new Promise(setImmediate)
    t.equal(got, false, 'waiting')
    held()
    await new Promise(setImmediate)
    t.equal(got, true, 'woken by the release, not by its next look')
    ;(await waiting)()
  })

  t.test('background calls leave the reserve to decisions; the part says what the minute holds', async (t) => {
    const time = clock()
    const budget = createLocalBudget(limits({ requestsPerMinute: 5, reserve: 2 }), undefined, time.now)
    await budget.acquire(ORG, { background: true })
    time.set(T + 1000)
    await budget.acquire(ORG, { background: true })
    await budget.acquire(ORG, { background: true })
    const kept = await refusal(budget.acquire(ORG, { background: true }))
    t.equal(kept.detail, `no Zoho call for organization ${ORG}: the budget of 3 calls per minute is spent`, 'background: 5 − 2')
    t.equal(kept.verdict.retryAfterMs, 59_000)
    await budget.acquire(ORG)
    await budget.acquire(ORG)
    t.equal((await refusal(budget.acquire(ORG))).verdict.limit, 5, 'decisions: the whole budget')
    t.same(budget.part(ORG), { perMinute: 5, reserve: 2, calls: [T, T + 1000, T + 1000, T + 1000, T + 1000] })
    t.same(budget.part(OTHER), { perMinute: 5, reserve: 2, calls: [] })
    time.set(T + 60_000)
    t.same(budget.part(ORG).calls.length, 4, 'the calls of the minute ending now')
    t.same(createLocalBudget(limits({}), undefined, time.now).part(ORG).reserve, 0, 'no reserve unless given')
  })

  t.test('with a share (Redis down), background calls leave the share’s reserve', async (t) => {
    const budget = createLocalBudget(limits({ reserve: 50 }), () => ({ perMinute: 4, concurrency: 2, reserve: 3 }), clock().now)
    await budget.acquire(ORG, { background: true })
    t.equal((await refusal(budget.acquire(ORG, { background: true }))).verdict.limit, 1)
    await budget.acquire(ORG)
    t.same(budget.part(ORG), { perMinute: 4, reserve: 3, calls: [T, T] })
  })

  t.test('a pause refuses every call until it ends; a shorter pause does not shorten it', async (t) => {
    const time = clock()
    const budget = createLocalBudget(limits({}), undefined, time.now)
    await budget.pause(ORG, 30)
    time.set(T + 10_500)
    const paused = await refusal(budget.acquire(ORG))
    t.equal(paused.detail, `no Zoho call for organization ${ORG}: Zoho asked us to back off`)
    t.equal(paused.verdict.retryAfterMs, 19_500)
    t.equal(paused.retryAfterSeconds, 20)
    await budget.pause(ORG, 5)
    time.set(T + 29_999)
    t.equal((await refusal(budget.acquire(ORG))).verdict.reason, 'paused')
    time.set(T + 30_000)
    await budget.acquire(ORG)
  })
})

t.test('waiting for a slot (acquireWith)', async (t) => {
  const busy: BudgetVerdict = { ok: false, retryAfterMs: 1000, reason: 'busy', limit: 2 }
  const spent: BudgetVerdict = { ok: false, retryAfterMs: 40_000, reason: 'spent', limit: 90 }
  /** A wait that moves the clock instead of sleeping. */
  const waiter = (time: ReturnType<typeof clock>) => {
    const waits: number[] = []
    const wait = async (ms: number) => {
      waits.push(ms)
      if (waits.length > 10) throw new Error('still waiting')
      time.set(time.now() + ms)
    }
    return { waits, wait }
  }

  t.test('while busy, looks again every 50 ms at most, until waitMs is over', async (t) => {
    const time = clock()
    const { waits, wait } = waiter(time)
    const refused = await refusal(acquireWith(ORG, limits({ waitMs: 120 }), async () => busy, wait, time.now))
    t.same(waits, [50, 50, 20])
    t.equal(refused.detail, `no Zoho call for organization ${ORG}: 2 calls are already in flight`)
  })

  t.test('with no time to wait, a busy budget refuses at once', async (t) => {
    const time = clock()
    const { waits, wait } = waiter(time)
    await refusal(acquireWith(ORG, limits({ waitMs: 0 }), async () => busy, wait, time.now))
    t.same(waits, [])
  })

  t.test('a spent budget is not waited for', async (t) => {
    const time = clock()
    const { waits, wait } = waiter(time)
    const refused = await refusal(acquireWith(ORG, limits({ waitMs: 10_000 }), async () => spent, wait, time.now))
    t.same(waits, [])
    t.equal(refused.retryAfterSeconds, 40)
  })

  t.test('a slot freed while waiting is taken', async (t) => {
    const time = clock()
    const { waits, wait } = waiter(time)
    const verdicts: BudgetVerdict[] = [busy, busy, { ok: true }]
    await acquireWith(ORG, limits({ waitMs: 10_000 }), async () => verdicts.shift() ?? busy, wait, time.now)
    t.same(waits, [50, 50])
  })
})

t.test('Retry-After is at least one second', async (t) => {
  t.equal(new BudgetRefused(ORG, { ok: false, retryAfterMs: 0, reason: 'spent', limit: 1 }).retryAfterSeconds, 1)
})

t.test('the degraded share, case by case', async (t) => {
  const limits = { requestsPerMinute: 90, maxConcurrency: 8 }
  const now = 1_000_000
  const fresh = { at: now - 1000, fresh: true }
  const spent = (n: number, at = now - 30_000) => Array.from({ length: n }, () => at)
  t.same(degradedShare(limits, { instances: 2, outage: fresh, spent: [], now }), { perMinute: 45, concurrency: 4, freesAt: undefined })
  t.same(degradedShare(limits, { instances: 2, outage: fresh, spent: spent(30), now }), {
    perMinute: 30,
    concurrency: 4,
    freesAt: now + 30_000,
  })
  t.same(degradedShare(limits, { instances: 3, outage: fresh, spent: spent(31), now }).perMinute, 19, 'rounded down: ⌊59 / 3⌋')
  t.same(degradedShare(limits, { instances: 2, outage: fresh, spent: spent(95), now }).perMinute, 0, 'never negative')
  t.same(degradedShare(limits, { instances: 16, outage: fresh, spent: [], now }).concurrency, 1, 'at least one call in flight')
  const stale = { at: now - 1000, fresh: false }
  t.same(
    degradedShare(limits, { instances: 2, outage: stale, spent: [], now }),
    { perMinute: 0, concurrency: 4, freesAt: now + 59_000 },
    'a stale view counts the minute as spent…',
  )
  t.same(
    degradedShare(limits, { instances: 2, outage: stale, spent: [], now: now + 59_000 }).perMinute,
    45,
    '…until a minute after the outage began',
  )
  t.same(
    degradedShare(limits, { instances: undefined, outage: fresh, spent: [], now }),
    { perMinute: 9, concurrency: 1 },
    'never saw Redis: a tenth',
  )
  t.same(
    degradedShare({ requestsPerMinute: 5, maxConcurrency: 8 }, { instances: undefined, outage: fresh, spent: [], now }).perMinute,
    1,
    'at least one call a minute',
  )
})

t.test('a view of the shared minutes is fresh, case by case', async (t) => {
  const now = 1_000_000
  const read = (ago: number, live = true) => ({ at: now - ago, live })
  t.equal(viewFresh(read(5_999), 0, now), true, 're-read within three heartbeats')
  t.equal(viewFresh(read(6_000), 0, now), false, 'not re-read for three heartbeats')
  t.equal(viewFresh(read(1_000, false), 0, now), false, 'events were not arriving at the re-read')
  t.equal(viewFresh(read(3_000), now - 3_000, now), true, 'events lost no later than the re-read')
  t.equal(viewFresh(read(3_000), now - 1_999, now), true, 'events lost since, with the outage itself')
  t.equal(viewFresh(read(3_000), now - 2_000, now), false, 'events lost since, before the outage')
})

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
