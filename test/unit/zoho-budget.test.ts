import { getEventListeners } from 'node:events'
import t from 'tap'
import { acquireWith, createLocalBudget, type Share } from '../../src/adapters/local/budget.js'
import { degradedShare, viewFresh } from '../../src/adapters/redis/budget.js'
import { BudgetRefused, type BudgetVerdict } from '../../src/adapters/zoho/ports.js'
import { clock, limits, ORG, OTHER, refusal, T } from '../helpers/budget.js'

/**
 * The Zoho budget's rules, in process: the in-process budget with a clock the tests move, waiting
 * for a slot, and the functions the shared budget decides with while Redis is down (the degraded
 * share, whether its view is fresh). The shared budget on Redis: system/zoho-budget-redis.test.ts.
 */

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

  t.test('twenty callers wait for a slot: no leak warning, and none leaves a listener or a timer behind', async (t) => {
    const warnings: string[] = []
    const warned = (warning: Error) => warnings.push(warning.name)
    process.on('warning', warned)
    t.teardown(() => process.off('warning', warned))
    // The budget's own EventTarget, recorded as it is made, to count the waiters listening on it.
    const made: EventTarget[] = []
    const Plain = globalThis.EventTarget
    globalThis.EventTarget = class extends Plain {
      constructor() {
        super()
        made.push(this)
      }
    }
    const budget = createLocalBudget(limits({ maxConcurrency: 1, waitMs: 60_000 }), undefined, clock().now)
    globalThis.EventTarget = Plain
    const released = made[0] as EventTarget
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    const idle = timers()
    const held = await budget.acquire(ORG)
    // Each waiter, once it has its slot, releases it at once: the next one is woken.
    const waiting = Array.from({ length: 20 }, () => budget.acquire(ORG).then((release) => release()))
    await new Promise(setImmediate)
    t.equal(getEventListeners(released, 'release').length, 20, 'every waiter listens for a release')
    held()
    await Promise.all(waiting)
    t.same(warnings, [], 'twenty listeners are not a leak')
    t.equal(getEventListeners(released, 'release').length, 0, 'a woken waiter stops listening')
    t.equal(timers(), idle, 'a waiter woken by a release leaves no timer running')
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
