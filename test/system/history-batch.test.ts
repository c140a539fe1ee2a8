import pino from 'pino'
import t from 'tap'
import { createLocalHistory } from '../../src/adapters/local/history.js'
import { APPEND_BATCH, createRedisHistory, historyKey } from '../../src/adapters/redis/history.js'
import { connectRedis } from '../../src/adapters/redis/link.js'
import { newDecisionId } from '../../src/domain/history.js'
import type { NewEntry } from '../../src/services/history.js'
import { ORG, startApp, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { ruleSetOf } from '../helpers/rules.js'

/**
 * Decision records are written in batches (issue 30): what one turn of the event loop hands over
 * goes to Redis in one script per organization, nothing is lost on a graceful close, and a Redis
 * outage sends them to the in-process ring as before.
 */
const KEY = 'shop-key-0123456789abcdef'
const OTHER_ORG = '99887766'

/** Redis INFO commandstats: calls of a command so far. */
async function calls(client: { info(section: string): Promise<string> }, command: string): Promise<number> {
  const line = (await client.info('commandstats')).split('\n').find((l) => l.startsWith(`cmdstat_${command}:`))
  return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0)
}

const entry = (i: number, atMs = Date.now()): NewEntry => {
  const decisionId = newDecisionId(atMs)
  return { decisionId, atMs, contactId: `c${i}`, decision: 'allow', json: JSON.stringify({ decision_id: decisionId, n: i }) }
}

t.test('appends handed over in one turn: one script per organization, in their order', async (t) => {
  const redis = await startRedis(t)
  await redis.client.connect()
  const link = await connectRedis(redis.url, pino({ level: 'silent' }))
  t.teardown(() => link.close())
  const local = createLocalHistory(1000)
  const store = createRedisHistory(link, local, 1000)

  const before = await calls(redis.client, 'eval')
  const entries = Array.from({ length: 50 }, (_, i) => entry(i))
  const others = Array.from({ length: 3 }, (_, i) => entry(100 + i))
  await Promise.all([...entries.map((e) => store.append(ORG, e)), ...others.map((e) => store.append(OTHER_ORG, e))])
  t.equal((await calls(redis.client, 'eval')) - before, 2, 'two scripts: one per organization, not one per decision')
  const stored = (await redis.client.xrange(historyKey(ORG), '-', '+')) as [string, string[]][]
  t.same(
    stored.map(([, fields]) => fields[1]),
    entries.map((e) => e.decisionId),
    'every entry, in the order handed over',
  )
  t.equal(await redis.client.xlen(historyKey(OTHER_ORG)), 3)
  t.equal(local.size(ORG), 0, 'nothing went to the ring')
  for (const e of [entries[0], entries[49]] as NewEntry[]) {
    t.equal(await store.find(ORG, e.decisionId, e.atMs), e.json, 'found by the index, like an entry appended alone')
  }

  // More than a script takes at once: several scripts, all in order.
  const many = Array.from({ length: APPEND_BATCH + 10 }, (_, i) => entry(1000 + i))
  const beforeMany = await calls(redis.client, 'eval')
  await Promise.all(many.map((e) => store.append(ORG, e)))
  t.equal((await calls(redis.client, 'eval')) - beforeMany, 2, `${APPEND_BATCH + 10} entries: two scripts`)
  t.equal(await redis.client.xlen(historyKey(ORG)), 50 + APPEND_BATCH + 10)

  // Appends after a write started wait for the next write, and are written too.
  const first = store.append(ORG, entry(5000))
  await new Promise((resolve) => setImmediate(resolve))
  const late = store.append(ORG, entry(5001))
  await Promise.all([first, late])
  t.equal(await redis.client.xlen(historyKey(ORG)), 50 + APPEND_BATCH + 12, 'an append made while a batch was on its way is written')
})

t.test('Redis down: the batch goes to the in-process ring, every append settles', async (t) => {
  const redis = await startRedis(t)
  const link = await connectRedis(redis.url, pino({ level: 'silent' }))
  t.teardown(() => link.close())
  const local = createLocalHistory(1000)
  const store = createRedisHistory(link, local, 1000)
  await redis.kill()
  const entries = Array.from({ length: 20 }, (_, i) => entry(i))
  await Promise.all(entries.map((e) => store.append(ORG, e)))
  t.equal(local.size(ORG), 20, 'all of them kept in the ring')
  const page = await store.page(ORG, {}, 100)
  t.same(
    page.map((e) => e.json.toString()),
    [...entries].reverse().map((e) => e.json),
    'and listed from it, newest first',
  )
})

t.test('a graceful close writes the records of the decisions just answered', async (t) => {
  const redis = await startRedis(t)
  await redis.client.connect()
  const sandbox = await startSandbox(t)
  // A fixed rule set: no rules folder to load and validate (slow on a busy machine).
  const ruleSet = ruleSetOf([
    {
      name: 'owes-much',
      conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 50_000 }] },
      type: 'block',
      code: 'OWES',
      message: 'owes',
    },
  ])
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: `shop:${KEY}`, REDIS_URL: redis.url }, deps: { ruleSet } })
  const contact = '460000000031001'
  const answers = await Promise.all(
    Array.from({ length: 40 }, () => app.inject({ url: `/contacts/${contact}/risk`, headers: { authorization: `Bearer ${KEY}` } })),
  )
  t.ok(
    answers.every((a) => a.statusCode === 200),
    'all answered',
  )
  // No flush: closing is what must write them.
  await app.close()
  const stored = (await redis.client.xrange(historyKey(ORG), '-', '+')) as [string, string[]][]
  t.same(
    new Set(stored.map(([, fields]) => fields[1])),
    new Set(answers.map((a) => a.json().decision_id)),
    'every decision answered is in Redis after close',
  )
})
