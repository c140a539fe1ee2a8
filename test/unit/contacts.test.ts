import pino from 'pino'
import t from 'tap'
import { createLocalCache } from '../../src/adapters/local/cache.js'
import { parseContact, type ZohoContact } from '../../src/domain/contact.js'
import { Problem } from '../../src/errors.js'
import { zohoContact } from '../../src/sandbox/example-contact.js'
import {
  type CacheEntry,
  type ContactCache,
  type ContactServiceOptions,
  createContactService,
  type FlightFailure,
  type SingleFlight,
} from '../../src/services/contacts.js'

/**
 * The contact service on its own, through its ports: an in-memory cache on a fake clock, a Zoho
 * that is a ContactSource of our making, and (for the cross-instance single flight) a SingleFlight
 * that plays the other instances. Waiting is simulated by moving the clock: no test sleeps.
 */
const ORG = '10234695'
const T0 = Date.parse('2026-11-24T10:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()
const TTL = 300
const STALE_TTL = 86_400

const contact = (id: string, fields: Record<string, unknown> = {}): ZohoContact => {
  const parsed = parseContact(zohoContact(id, `Customer ${id}`, fields))
  if (!parsed.ok) throw new Error(parsed.problem)
  return parsed.contact
}

/** A clock the test moves. */
function clock() {
  const c = { ms: T0, now: () => c.ms }
  return c
}

/** Zoho as a ContactSource: answers with the contact, or `fails` with a problem; can be held. */
function zoho(time: ReturnType<typeof clock>) {
  const z = {
    calls: [] as string[],
    fails: undefined as Error | undefined,
    /** How long each call takes, on the test's clock. */
    takesMs: 0,
    held: undefined as Promise<void> | undefined,
    /** Resolves once a held call has arrived. */
    arrived: Promise.resolve(),
    onArrival: () => {},
    source: {
      async fetchContact(_org: string, contactId: string) {
        z.calls.push(contactId)
        z.onArrival()
        if (z.held) await z.held
        time.ms += z.takesMs
        if (z.fails) throw z.fails
        return contact(contactId)
      },
    },
    hold() {
      let release: () => void = () => {}
      z.held = new Promise((resolve) => {
        release = resolve
      })
      z.arrived = new Promise((resolve) => {
        z.onArrival = resolve
      })
      return () => {
        z.held = undefined
        release()
      }
    },
  }
  return z
}

/** The memory cache, recording what was stored and for how long. */
function recordingCache(time: ReturnType<typeof clock>) {
  const memory = createLocalCache(1000, time.now)
  const sets: { contactId: string; entry: CacheEntry; ttlSeconds: number }[] = []
  const cache: ContactCache = {
    get: (org, contactId) => memory.get(org, contactId),
    async set(org, contactId, entry, ttlSeconds) {
      sets.push({ contactId, entry, ttlSeconds })
      await memory.set(org, contactId, entry, ttlSeconds)
    },
    delete: (org, contactId) => memory.delete(org, contactId),
  }
  return { cache, sets }
}

/**
 * The other instances, as a SingleFlight: for `busy` attempts another instance leads; while this
 * one follows, each wait moves the clock by `stepMs` and runs `meanwhile` (what the leader did).
 */
function otherInstances(time: ReturnType<typeof clock>) {
  const f = {
    busy: 0,
    stepMs: 250,
    meanwhile: async (): Promise<unknown> => undefined,
    left: undefined as FlightFailure | undefined,
    leads: [] as string[],
    finished: [] as (FlightFailure | undefined)[],
    /** When each wait began. */
    waits: [] as number[],
  }
  const flight: SingleFlight = {
    async lead(key) {
      f.leads.push(key)
      if (f.busy > 0) {
        f.busy--
        return undefined
      }
      return {
        async finish(failure) {
          f.finished.push(failure)
        },
      }
    },
    async wait(_key, ms) {
      f.waits.push(time.ms)
      if (f.stepMs > ms) throw new Error(`a wait of ${ms} ms cannot last ${f.stepMs} ms`)
      if (time.ms - T0 > 600_000) throw new Error('still following after 10 minutes')
      time.ms += f.stepMs
      await f.meanwhile()
    },
    async failure() {
      return f.left
    },
  }
  return Object.assign(f, { flight })
}

function setup(options: Partial<ContactServiceOptions> = {}, time = clock()) {
  const source = zoho(time)
  const { cache, sets } = recordingCache(time)
  const lookups: string[] = []
  const service = createContactService({
    cache,
    source: source.source,
    ttlSeconds: TTL,
    staleTtlSeconds: STALE_TTL,
    log: pino({ level: 'silent' }),
    onLookup: (result) => lookups.push(result),
    now: time.now,
    ...options,
  })
  return { time, zoho: source, cache, sets, lookups, service }
}

/** The same, with other instances taking part in the single flight. */
function setupShared(options: Partial<ContactServiceOptions> = {}) {
  const time = clock()
  const others = otherInstances(time)
  return { ...setup({ flight: others.flight, ...options }, time), others }
}

t.test('a fresh copy is served from the cache without asking Zoho', async (t) => {
  const { time, zoho, lookups, service } = setup()
  t.same(await service.load(ORG, '42'), { contact: contact('42'), source: 'zoho', fetchedAt: iso(T0), fetchedAtMs: T0 })
  time.ms = T0 + TTL * 1000 - 1
  t.same(await service.load(ORG, '42'), { contact: contact('42'), source: 'cache', fetchedAt: iso(T0), fetchedAtMs: T0 })
  t.same(zoho.calls, ['42'])
  t.same(lookups, ['miss', 'hit'])
})

for (const shared of [false, true]) {
  t.test(
    `a copy exactly ttl seconds old is no longer fresh: Zoho is asked${shared ? ' (single flight across instances)' : ''}`,
    async (t) => {
      const { time, zoho, lookups, service } = shared ? setupShared() : setup()
      await service.load(ORG, '42')
      time.ms = T0 + TTL * 1000
      const again = await service.load(ORG, '42')
      t.same([again.source, again.fetchedAt], ['zoho', iso(T0 + TTL * 1000)])
      t.same(zoho.calls, ['42', '42'])
      t.same(lookups, ['miss', 'miss'])
    },
  )
}

t.test('a contact is stamped with when its fetch began, and kept for the stale horizon', async (t) => {
  const { zoho, sets, service } = setup()
  zoho.takesMs = 1500
  const loaded = await service.load(ORG, '42')
  t.same([loaded.fetchedAt, loaded.fetchedAtMs], [iso(T0), T0])
  t.same(sets, [{ contactId: '42', entry: { fetched_at: iso(T0), contact: contact('42') }, ttlSeconds: STALE_TTL }])
})

t.test('Zoho’s "not found" is believed for 60 s', async (t) => {
  const { time, zoho, sets, lookups, service } = setup()
  zoho.fails = new Problem('contact_not_found', 'Zoho code 1002')
  await t.rejects(service.load(ORG, '42'), { code: 'contact_not_found', detail: 'Zoho code 1002' })
  t.same(sets, [{ contactId: '42', entry: { fetched_at: iso(T0), not_found: true }, ttlSeconds: 60 }])
  time.ms = T0 + 59_999
  await t.rejects(service.load(ORG, '42'), {
    code: 'contact_not_found',
    detail: `contact 42 does not exist in organization ${ORG}`,
  })
  t.same(zoho.calls, ['42'], 'not asked again within the minute')
  time.ms = T0 + 60_000
  zoho.fails = undefined
  t.equal((await service.load(ORG, '42')).source, 'zoho', 'asked again after it')
  t.same(lookups, ['miss', 'not_found', 'miss'])
})

t.test('how long "not found" is believed can be configured', async (t) => {
  const { zoho, sets, service } = setup({ notFoundTtlSeconds: 5 })
  zoho.fails = new Problem('contact_not_found', 'Zoho code 1002')
  await t.rejects(service.load(ORG, '42'), { code: 'contact_not_found' })
  t.same(
    sets.map((s) => s.ttlSeconds),
    [5],
  )
})

t.test('a failed fetch is neither remembered nor reused: the next request asks Zoho again', async (t) => {
  const { zoho, sets, service } = setup()
  zoho.fails = new Problem('upstream_error', 'credentials refused')
  await t.rejects(service.load(ORG, '42'), { code: 'upstream_error' })
  t.same(sets, [], 'nothing cached')
  zoho.fails = undefined
  t.equal((await service.load(ORG, '42')).source, 'zoho')
  t.same(zoho.calls, ['42', '42'])
})

/** A service whose cache holds a copy of contact 42 fetched ageMs ago (kept longer than any horizon). */
async function withCopy(ageMs: number, options: Partial<ContactServiceOptions> = {}) {
  const s = setup(options)
  await s.cache.set(ORG, '42', { fetched_at: iso(T0 - ageMs), contact: contact('42') }, 10 * STALE_TTL)
  s.sets.length = 0
  return s
}

t.test('when Zoho cannot answer, a copy within the stale horizon is served, flagged stale, with a warning', async (t) => {
  const lines: Record<string, unknown>[] = []
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  const { zoho, lookups, service } = await withCopy(STALE_TTL * 1000 - 1, { log })
  zoho.fails = new Problem('upstream_unavailable', 'Zoho Books is down')
  const at = T0 - STALE_TTL * 1000 + 1
  t.same(await service.load(ORG, '42'), { contact: contact('42'), source: 'stale', fetchedAt: iso(at), fetchedAtMs: at })
  t.same(lookups, ['miss', 'stale'])
  t.same(
    lines.map(({ level, org, contactId, fetchedAt, why, msg }) => ({ level, org, contactId, fetchedAt, why, msg })),
    [
      {
        level: 40,
        org: ORG,
        contactId: '42',
        fetchedAt: iso(at),
        why: 'Zoho Books is down',
        msg: 'zoho unavailable; serving a stale contact',
      },
    ],
  )
})

t.test('a copy as old as the stale horizon is never served, whatever the cache still keeps', async (t) => {
  const { zoho, service } = await withCopy(STALE_TTL * 1000)
  zoho.fails = new Problem('upstream_unavailable', 'Zoho Books is down', { retryAfterSeconds: 5 })
  await t.rejects(service.load(ORG, '42'), { code: 'upstream_unavailable', retryAfterSeconds: 5 })
})

t.test('a stale copy never hides Zoho’s own answer', async (t) => {
  for (const problem of [new Problem('contact_not_found', 'deleted'), new Problem('upstream_error', 'organization refused')]) {
    const { zoho, service } = await withCopy(TTL * 1000)
    zoho.fails = problem
    await t.rejects(service.load(ORG, '42'), { code: problem.code }, problem.code)
  }
})

t.test('without a copy, Zoho being unavailable is the answer', async (t) => {
  const { zoho, service } = setup()
  zoho.fails = new Problem('upstream_unavailable', 'Zoho Books is down', { retryAfterSeconds: 5 })
  await t.rejects(service.load(ORG, '42'), { code: 'upstream_unavailable', retryAfterSeconds: 5 })
})

t.test('a remembered "not found" is never served as a stale contact', async (t) => {
  const { time, zoho, service } = setup({ ttlSeconds: 30 })
  zoho.fails = new Problem('contact_not_found', 'Zoho code 1002')
  await t.rejects(service.load(ORG, '42'), { code: 'contact_not_found' })
  time.ms = T0 + 31_000
  zoho.fails = new Problem('upstream_unavailable', 'Zoho Books is down')
  await t.rejects(service.load(ORG, '42'), { code: 'upstream_unavailable' })
})

t.test('concurrent requests for one contact make one Zoho call', async (t) => {
  const { zoho, service } = setup()
  const release = zoho.hold()
  const waiting = [service.load(ORG, '42'), service.load(ORG, '42')]
  await zoho.arrived
  waiting.push(service.load(ORG, '42'), service.load(ORG, '42'), service.load(ORG, '42'))
  release()
  const loaded = await Promise.all(waiting)
  t.same(zoho.calls, ['42'])
  t.same(
    loaded.map((l) => [l.contact.contact_id, l.source]),
    Array.from({ length: 5 }, () => ['42', 'zoho']),
  )
})

t.test('concurrent requests for different contacts each get their own', async (t) => {
  const { zoho, service } = setup()
  const release = zoho.hold()
  const waiting = [service.load(ORG, '41'), service.load(ORG, '42'), service.load('10234696', '42')]
  await zoho.arrived
  release()
  t.same(
    (await Promise.all(waiting)).map((l) => l.contact.contact_id),
    ['41', '42', '42'],
  )
  t.same(zoho.calls, ['41', '42', '42'])
})

t.test('invalidating drops the copy: the next request asks Zoho', async (t) => {
  const { zoho, service } = setup()
  await service.load(ORG, '42')
  await service.invalidate(ORG, '42')
  t.equal((await service.load(ORG, '42')).source, 'zoho')
  t.same(zoho.calls, ['42', '42'])
})

t.test('across instances, the leader fetches, stores and finishes', async (t) => {
  const { zoho, others, service } = setupShared()
  t.equal((await service.load(ORG, '42')).source, 'zoho')
  t.same(zoho.calls, ['42'])
  t.same(others.leads, [`${ORG}:42`])
  t.same(others.finished, [undefined], 'finished, no failure left')
})

t.test('a leader that finds a copy stored since it began serves it without asking Zoho', async (t) => {
  const { time, zoho, cache, others, service } = setupShared()
  const lead = others.flight.lead
  // Between this instance's cache miss and its taking the lock, another instance finished.
  others.flight.lead = async (key) => {
    await cache.set(ORG, '42', { fetched_at: iso(time.ms), contact: contact('42') }, STALE_TTL)
    return lead(key)
  }
  t.same(await service.load(ORG, '42'), { contact: contact('42'), source: 'cache', fetchedAt: iso(T0), fetchedAtMs: T0 })
  t.same(zoho.calls, [])
  t.same(others.finished, [undefined])
})

t.test('a leader whose fetch fails leaves the failure for the followers', async (t) => {
  const { zoho, others, service } = setupShared()
  zoho.takesMs = 700
  zoho.fails = new Problem('upstream_unavailable', 'Zoho Books is down', { retryAfterSeconds: 7 })
  await t.rejects(service.load(ORG, '42'), { code: 'upstream_unavailable' })
  t.same(others.finished, [{ code: 'upstream_unavailable', detail: 'Zoho Books is down', retryAfterSeconds: 7, at: T0 + 700 }])
})

t.test('a leader that fails unexpectedly leaves no failure to copy', async (t) => {
  const { zoho, others, service } = setupShared()
  zoho.fails = new Error('bug')
  await t.rejects(service.load(ORG, '42'), { message: 'bug' })
  t.same(others.finished, [undefined])
})

t.test('a follower serves the copy the leader stored', async (t) => {
  const { time, zoho, cache, others, service } = setupShared()
  others.busy = 1
  others.meanwhile = () => cache.set(ORG, '42', { fetched_at: iso(time.ms), contact: contact('42') }, STALE_TTL)
  const at = T0 + others.stepMs
  t.same(await service.load(ORG, '42'), { contact: contact('42'), source: 'cache', fetchedAt: iso(at), fetchedAtMs: at })
  t.same(zoho.calls, [])
  t.same(others.leads, [`${ORG}:42`])
})

t.test('a follower believes the "not found" the leader stored', async (t) => {
  const { time, zoho, cache, others, service } = setupShared()
  others.busy = 1
  others.meanwhile = () => cache.set(ORG, '42', { fetched_at: iso(time.ms), not_found: true }, 60)
  await t.rejects(service.load(ORG, '42'), { code: 'contact_not_found' })
  t.same(zoho.calls, [])
})

t.test('a follower takes a copy stamped up to a second before it began (the leader began first)', async (t) => {
  // TTL 0: no copy is fresh, so only its stamp makes it the flight's result.
  const { zoho, cache, others, service } = setupShared({ ttlSeconds: 0 })
  others.busy = 1
  others.meanwhile = () => cache.set(ORG, '42', { fetched_at: iso(T0 - 1000), contact: contact('42') }, STALE_TTL)
  t.equal((await service.load(ORG, '42')).source, 'cache')
  t.same(zoho.calls, [])
})

t.test('a copy stamped earlier than that, and not fresh, is not the flight’s result: Zoho is asked', async (t) => {
  const { zoho, cache, others, service } = setupShared({ ttlSeconds: 0 })
  others.busy = 1
  others.meanwhile = () => cache.set(ORG, '42', { fetched_at: iso(T0 - 1001), contact: contact('42') }, STALE_TTL)
  t.equal((await service.load(ORG, '42')).source, 'zoho')
  t.same(zoho.calls, ['42'])
  t.same(others.leads, [`${ORG}:42`, `${ORG}:42`], 'it led on its second try')
})

t.test('a follower takes a fresh copy, however early it was stamped', async (t) => {
  const { zoho, cache, others, service } = setupShared()
  others.busy = 1
  others.meanwhile = () => cache.set(ORG, '42', { fetched_at: iso(T0 - 5000), contact: contact('42') }, STALE_TTL)
  t.equal((await service.load(ORG, '42')).source, 'cache')
  t.same(zoho.calls, [])
})

t.test('a follower passes on the failure its leader left', async (t) => {
  const { zoho, others, service } = setupShared()
  others.busy = 1
  others.meanwhile = async () => {
    others.left = { code: 'upstream_unavailable', detail: 'Zoho Books is down', retryAfterSeconds: 9, at: T0 }
  }
  await t.rejects(service.load(ORG, '42'), { code: 'upstream_unavailable', detail: 'Zoho Books is down', retryAfterSeconds: 9 })
  t.same(zoho.calls, [])
})

t.test('a failure left before the follower began is not its answer', async (t) => {
  const { zoho, others, service } = setupShared()
  others.busy = 1
  others.left = { code: 'upstream_error', detail: 'an old failure', at: T0 - 1 }
  t.equal((await service.load(ORG, '42')).source, 'zoho')
  t.same(zoho.calls, ['42'])
})

t.test('a follower whose leader vanished (nothing stored, nothing left) takes over', async (t) => {
  const { zoho, others, service } = setupShared()
  others.busy = 2
  t.equal((await service.load(ORG, '42')).source, 'zoho')
  t.same(others.leads, [`${ORG}:42`, `${ORG}:42`, `${ORG}:42`])
  t.same(others.finished, [undefined])
  t.same(zoho.calls, ['42'])
})

t.test('a follower gives up once its deadline has passed', async (t) => {
  const { zoho, others, service } = setupShared({ flightWaitMs: 1000 })
  others.busy = Number.POSITIVE_INFINITY
  await t.rejects(service.load(ORG, '42'), {
    code: 'upstream_unavailable',
    detail: 'another instance is fetching this contact and has not finished',
    retryAfterSeconds: 2,
  })
  t.same(
    others.waits.map((at) => at - T0),
    [0, 250, 500, 750, 1000],
    'it still waited at its deadline',
  )
  t.same(zoho.calls, [])
})

t.test('by default a follower waits 20 s for another instance', async (t) => {
  const { time, others, service } = setupShared()
  others.busy = Number.POSITIVE_INFINITY
  await t.rejects(service.load(ORG, '42'), { code: 'upstream_unavailable', retryAfterSeconds: 2 })
  t.equal(time.ms - T0, 20_250)
})

t.test('a caller is charged when its miss starts a fetch, and refused with its own 429 past its share', async (t) => {
  const charged: string[] = []
  let left = 2
  const { zoho, service } = setup({
    callerShare: {
      async take(org, caller) {
        charged.push(`${org}/${caller}`)
        return left-- > 0 ? { ok: true } : { ok: false, retryAfterMs: 1_001, used: 2, fair: 2 }
      },
    },
  })
  const release = zoho.hold()
  const first = service.load(ORG, '42', 'shop')
  await zoho.arrived
  // Joining the fetch under way costs nothing, whoever asks.
  const joined = [service.load(ORG, '42', 'shop'), service.load(ORG, '42', 'pos')]
  release()
  await Promise.all([first, ...joined])
  t.same(charged, [`${ORG}/shop`])
  await service.load(ORG, '43', 'shop')
  const refused = await service.load(ORG, '44', 'shop').catch((err: Problem) => err)
  t.match(refused, {
    code: 'rate_limited',
    detail: `this caller started 2 Zoho calls for uncached contacts of organization ${ORG} in the last minute, its fair part being 2; the last calls of the minute are kept for callers under theirs`,
    retryAfterSeconds: 2,
  })
  t.same(zoho.calls, ['42', '43'], 'a refused caller never reaches Zoho')
  t.same(charged, [`${ORG}/shop`, `${ORG}/shop`, `${ORG}/shop`])
  // A fresh copy costs nothing either; without a caller nobody is charged.
  await service.load(ORG, '42', 'shop')
  await service.load(ORG, '45')
  t.equal(charged.length, 3)
})

t.test('a refusal says at least one second', async (t) => {
  const { service } = setup({ callerShare: { take: async () => ({ ok: false, retryAfterMs: 3, used: 1, fair: 1 }) } })
  t.match(await service.load(ORG, '42', 'shop').catch((err: Problem) => err), { code: 'rate_limited', retryAfterSeconds: 1 })
})

t.test('known: the cache holds the contact in the organization (a webhook’s owner), not merely "it does not exist"', async (t) => {
  const { zoho, service } = setup()
  await service.load(ORG, '42')
  zoho.fails = new Problem('contact_not_found', 'Zoho code 1002')
  await t.rejects(service.load(ORG, '43'))
  t.equal(await service.known(ORG, '42'), true)
  t.equal(await service.known('10234696', '42'), false, 'another organization')
  t.equal(await service.known(ORG, '43'), false, 'Zoho said it does not exist')
  t.equal(await service.known(ORG, '44'), false, 'never asked')
  t.same(zoho.calls, ['42', '43'], 'without a Zoho call')
})
