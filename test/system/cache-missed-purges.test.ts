import pino from 'pino'
import t from 'tap'
import { createLocalCache } from '../../src/adapters/local/cache.js'
import { contactKey, createRedisCache, MISSED_PURGES } from '../../src/adapters/redis/cache.js'
import { connectRedis } from '../../src/adapters/redis/link.js'
import { eventually } from '../helpers/app.js'
import { heapInUse } from '../helpers/heap.js'
import { startRedis } from '../helpers/redis.js'

/**
 * Cache purges made while Redis is down (the Zoho webhook, DELETE /contacts/{id}/cache) on a
 * private redis-server: at most 10,000 are remembered to replay; past that, the return purges every
 * fresh copy in Redis, so a contact whose purge was not remembered is never served as fresh.
 */
const silent = pino({ level: 'silent' })
const ORG = '10234695'
const FRESH_SECONDS = 300
const contactId = (n: number) => String(460_000_000_000_000 + n)
const entry = (n: number, ageSeconds: number) =>
  JSON.stringify({
    fetched_at: new Date(Date.now() - ageSeconds * 1000).toISOString(),
    contact: { contact_id: contactId(n), contact_name: `Customer ${n}`, status: 'active', outstanding_receivable_amount_bcy: 100 },
  })

t.test('purges missed in an outage: 10,000 remembered, and past that every fresh copy is purged on the return', async (t) => {
  const redis = await startRedis(t)
  await redis.client.connect()
  const link = await connectRedis(redis.url, silent)
  t.teardown(() => link.close())
  const cache = createRedisCache(link, createLocalCache(), silent, { freshSeconds: FRESH_SECONDS, staleSeconds: () => 86_400 })
  const purged: string[] = []
  link.onEvent((event) => {
    if (event.type === 'invalidated') purged.push(event.contactId)
  })
  t.ok(link.up)

  await redis.kill()
  await eventually(() => !link.up, 'the instance to see Redis gone')
  const count = 20 * MISSED_PURGES
  const before = heapInUse()
  for (let n = 0; n < count; n++) await cache.delete(ORG, contactId(n))
  const grown = heapInUse() - before
  // 10,000 remembered took 9–15 MB with what running the loop compiles (measured); all 200,000, 60 MB.
  t.ok(grown < 25_000_000, `${count} purges kept ${grown} bytes`)

  // Redis returns empty; before this instance uses it again, another instance (Redis was up for it)
  // stores copies: contact 0 (whose purge is remembered), the last purged (whose purge is not), an
  // older copy of the one before it (not remembered either) and a fresh copy of a contact nobody purged.
  const last = count - 1
  const unpurged = count
  link.beforeUp(async () => {
    await redis.client.set(contactKey(ORG, contactId(0)), entry(0, 10), 'EX', 86_400)
    await redis.client.set(contactKey(ORG, contactId(last)), entry(last, 10), 'EX', 86_400)
    await redis.client.set(contactKey(ORG, contactId(last - 1)), entry(last - 1, FRESH_SECONDS + 60), 'EX', 86_400)
    await redis.client.set(contactKey(ORG, contactId(unpurged)), entry(unpurged, 10), 'EX', 86_400)
  }, 'check')
  await redis.start()
  await eventually(() => link.up, 'the instance back on Redis', 60_000)
  const dels = Number(/cmdstat_del:calls=(\d+)/.exec(await redis.client.info('commandstats'))?.[1])
  t.equal(dels, MISSED_PURGES + 3, 'the return deleted the 3 fresh copies and replayed the 10,000 remembered purges, nothing more')

  t.equal(await redis.client.exists(contactKey(ORG, contactId(0))), 0, 'a remembered purge is replayed')
  t.equal(await redis.client.exists(contactKey(ORG, contactId(last))), 0, 'a purge not remembered: its fresh copy is purged all the same')
  t.equal(await cache.get(ORG, contactId(last)), undefined, 'and not served')
  t.equal(await redis.client.exists(contactKey(ORG, contactId(unpurged))), 0, 'so is every fresh copy: its contact is asked of Zoho again')
  t.ok(await cache.get(ORG, contactId(last - 1)), 'an older copy stays: it is served only as stale, flagged, while Zoho cannot answer')
  await eventually(() => purged.includes(contactId(last)) && purged.includes(contactId(unpurged)), 'the purges published to every instance')
})
