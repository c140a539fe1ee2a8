import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import t, { type Test } from 'tap'
import { createRedisFlight, flightKeys, LOCK_MS } from '../../src/adapters/redis/flight.js'
import { connectRedis, type RedisEvent, type RedisLink } from '../../src/adapters/redis/link.js'
import type { FlightFailure } from '../../src/services/contacts.js'
import { eventually } from '../helpers/app.js'
import { bigString, heapInUse } from '../helpers/heap.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'

/**
 * The single flight over a real Redis, as two instances (two connections) see it: one leads
 * while the others wait, woken by pub/sub; a failure is left for the followers; the lock is kept
 * alive while the leader works and is only borrowed (it expires) if the leader dies.
 */
const KEY = '10234695:460000000031001'

async function instances(t: Test, n = 2, log = pino({ level: 'silent' })) {
  const redis = await startRedis(t)
  redis.client.on('error', () => {}) // the test's own client, once a test kills the server
  await redis.client.connect()
  const links: RedisLink[] = []
  for (let i = 0; i < n; i++) {
    const link = await connectRedis(redis.url, log)
    t.teardown(() => link.close())
    links.push(link)
  }
  return { redis, links, flights: links.map((link) => createRedisFlight(link, log)) }
}

/** Resolves when this link hears the leader of key finish. */
const heard = (link: RedisLink, key: string) =>
  new Promise<void>((resolve) => {
    const stop = link.onEvent((event: RedisEvent) => {
      if (event.type === 'flight_done' && event.key === key) {
        stop()
        resolve()
      }
    })
  })

const pttl = (redis: TestRedis, key: string) => redis.client.pttl(key)

t.test('the flight’s keys are hash-tagged by organization, the rest of the key kept whole', async (t) => {
  t.same(flightKeys(KEY), {
    lock: 'creditgate:v1:{10234695}:flight:460000000031001:lock',
    failure: 'creditgate:v1:{10234695}:flight:460000000031001:failed',
  })
  t.same(flightKeys('org:a:b').lock, 'creditgate:v1:{org}:flight:a:b:lock')
})

t.test('one instance leads; the others follow until it has finished', async (t) => {
  const { redis, flights } = await instances(t)
  const [a, b] = flights as [ReturnType<typeof createRedisFlight>, ReturnType<typeof createRedisFlight>]
  const leadership = await a.lead(KEY)
  t.ok(leadership, 'the first leads')
  t.equal(await b.lead(KEY), undefined, 'another instance follows')
  t.equal(await a.lead(KEY), undefined, 'so does a second try from the leader’s own instance')
  const another = await b.lead('10234695:460000000031002')
  t.ok(another, 'another contact has a flight of its own')
  await another?.finish()
  const ttl = await pttl(redis, flightKeys(KEY).lock)
  t.ok(ttl > 0 && ttl <= LOCK_MS, `the lock expires on its own within ${LOCK_MS} ms (pttl ${ttl})`)
  await leadership?.finish()
  t.equal(await redis.client.exists(flightKeys(KEY).lock, flightKeys(KEY).failure), 0, 'done: no lock, no failure left')
  t.equal(await b.failure(KEY), undefined)
  const next = await b.lead(KEY)
  t.ok(next, 'the next miss leads again')
  await next?.finish()
})

t.test('a follower is woken as soon as its leader finishes', async (t) => {
  const { links, flights } = await instances(t)
  const [a, b] = flights as [ReturnType<typeof createRedisFlight>, ReturnType<typeof createRedisFlight>]
  const other = '10234695:460000000031002'
  const [mine, theirs] = [await a.lead(KEY), await a.lead(other)]
  let woken = 0
  const followers = [b.wait(KEY, 10_000), b.wait(KEY, 10_000)].map((w) => w.then(() => woken++))
  const impatient = b.wait(KEY, 20)
  const otherDone = heard(links[1] as RedisLink, other)
  await theirs?.finish()
  await otherDone
  await impatient
  t.equal(woken, 0, 'not by another contact’s leader, nor by a follower giving up')
  const done = heard(links[1] as RedisLink, KEY)
  await mine?.finish()
  await done
  t.equal(woken, 2, 'both followers, by the time their instance heard of it')
  await Promise.all(followers)
})

t.test('a follower woken early leaves the next followers of that contact alone', async (t) => {
  const { links, flights } = await instances(t)
  const [a, b] = flights as [ReturnType<typeof createRedisFlight>, ReturnType<typeof createRedisFlight>]
  const first = b.wait(KEY, 50)
  const done = heard(links[1] as RedisLink, KEY)
  await (await a.lead(KEY))?.finish()
  await done
  await first
  let woken = false
  const next = b.wait(KEY, 10_000).then(() => {
    woken = true
  })
  // The moment the first follower would have given up passes: its timer must be gone.
  await sleep(100)
  const again = heard(links[1] as RedisLink, KEY)
  await (await a.lead(KEY))?.finish()
  await again
  t.ok(woken, 'the next follower is woken by its own leader')
  await next
})

t.test('a wait ends after its time when nobody finishes', async (t) => {
  const { flights } = await instances(t, 1)
  const started = Date.now()
  await flights[0]?.wait(KEY, 50)
  t.ok(Date.now() - started >= 45)
})

t.test('a wait that has ended keeps nothing of its contact', async (t) => {
  const [flight] = (await instances(t, 1)).flights as [ReturnType<typeof createRedisFlight>]
  const before = heapInUse()
  // A key of 8 MB: whatever the wait keeps of it shows in the heap.
  await flight.wait(`10234695:${bigString(8_000_000)}`, 1)
  const after = heapInUse()
  t.ok(after - before < 4_000_000, `the heap grew by ${after - before} bytes`)
})

t.test('a failed leader leaves its failure for the followers, for a few seconds', async (t) => {
  const { redis, flights } = await instances(t)
  const [a, b] = flights as [ReturnType<typeof createRedisFlight>, ReturnType<typeof createRedisFlight>]
  const failure: FlightFailure = { code: 'upstream_unavailable', detail: 'Zoho Books is down', retryAfterSeconds: 9, at: 1_790_000_000_000 }
  await (await a.lead(KEY))?.finish(failure)
  t.same(await b.failure(KEY), failure)
  const ttl = await pttl(redis, flightKeys(KEY).failure)
  t.ok(ttl > 0 && ttl <= 3000, `kept ${ttl} ms`)
  t.equal(await redis.client.exists(flightKeys(KEY).lock), 0, 'the lock is released')
})

t.test('an unreadable failure record is no failure', async (t) => {
  const { redis, flights } = await instances(t, 1)
  await redis.client.set(flightKeys(KEY).failure, 'not json', 'PX', 3000)
  t.equal(await flights[0]?.failure(KEY), undefined)
})

t.test('the leader’s lock is kept alive while it works', async (t) => {
  const { redis, flights } = await instances(t, 1)
  const leadership = await flights[0]?.lead(KEY)
  // Left alone, the lock's time to live only falls; a renewal raises it.
  const seen = [await pttl(redis, flightKeys(KEY).lock)]
  await eventually(async () => {
    seen.push(await pttl(redis, flightKeys(KEY).lock))
    return (seen.at(-1) as number) > (seen.at(-2) as number)
  }, 'the lock to be renewed')
  t.ok((seen.at(-1) as number) > LOCK_MS - 100, `renewed to ${seen.at(-1)} ms after ${seen.length} looks`)
  await leadership?.finish()
})

t.test('without Redis every instance leads for itself, and a leader that lost Redis keeps going', async (t) => {
  const lines: string[] = []
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk))
        done()
      },
    }),
  )
  const { redis, links, flights } = await instances(t, 1, log)
  const [link, flight] = [links[0] as RedisLink, flights[0] as ReturnType<typeof createRedisFlight>]
  const before = await flight.lead(KEY)
  await redis.kill()
  await eventually(() => !link.up, 'the link to go down')
  await eventually(() => lines.some((l) => l.includes('flight lock renewal failed')), 'the failed renewal to be logged')
  const logged = JSON.parse(lines.find((l) => l.includes('flight lock renewal failed')) as string)
  t.same([logged.level, typeof logged.err?.message], [20, 'string'], 'at debug, with the error')
  const [first, second] = [await flight.lead(KEY), await flight.lead(KEY)]
  t.ok(first && second, 'each leads')
  await first?.finish({ code: 'upstream_unavailable', detail: 'down', at: 1 })
  t.equal(await flight.failure(KEY), undefined, 'no failure is shared')
  await before?.finish()
})
