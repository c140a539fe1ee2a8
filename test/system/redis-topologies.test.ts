import t, { type Test } from 'tap'
import { budgetKeys } from '../../src/adapters/redis/budget.js'
import { contactKey } from '../../src/adapters/redis/cache.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { addContacts, contactOnlyRules, eventually, logCapture, ORG, startApp, startSandbox, type TestApp } from '../helpers/app.js'
import { startCluster, startSentinels, type TestTopology } from '../helpers/redis.js'

/**
 * Redis Sentinel and Redis Cluster, for real: a master, a replica and three Sentinels; three
 * Cluster masters with a replica each. On each, the instances coalesce their Zoho calls and share
 * the budget as on one Redis, events (purges, single-flight wake-ups) reach every instance, every
 * multi-key command stays in one slot, and a failover under load costs no 5xx, no wrong decision
 * and no Zoho call beyond the budget.
 */

// Eleven redis-server processes started from scratch and two failovers: about 90 s on 2 busy cores,
// past tap's 120 s on a machine busier still.
t.setTimeout(240_000)

const ADMIN = 'ops-key-0123456789abcdef'
const SHOP = 'shop-key-0123456789abcdef'

/** The added contacts owe 0, 30,000 or 60,000 in turn. */
const owing = (i: number) => ({ outstanding_receivable_amount_bcy: (i % 3) * 30000 })

interface Instances {
  apps: TestApp[]
  logs: ReturnType<typeof logCapture>[]
}

/** n instances on the topology, with the contact-only rules (every Zoho call counted is a contact call), seeing each other. */
async function instances(
  t: Test,
  n: number,
  sandbox: Sandbox,
  topology: TestTopology,
  env: Record<string, string> = {},
): Promise<Instances> {
  const rules = await contactOnlyRules(t)
  const apps: TestApp[] = []
  const logs: ReturnType<typeof logCapture>[] = []
  for (let i = 0; i < n; i++) {
    const log = logCapture()
    logs.push(log)
    const all = { ...topology.env, RULES_DIR: rules, RATE_LIMIT_PER_MINUTE: '0', ADMIN_API_KEYS: `ops:${ADMIN}`, LOG_LEVEL: 'warn', ...env }
    apps.push(await startApp(t, sandbox, { env: all, logs: log }))
  }
  for (const { app } of apps) {
    await eventually(
      async () => new RegExp(`${n} instances`).test((await app.inject({ url: '/readyz' })).json().checks.redis.detail),
      'the instances to see each other',
    )
  }
  return { apps, logs }
}

const decide = (apps: TestApp[], ids: string[]) =>
  Promise.all(ids.map((id, i) => (apps[i % apps.length] as TestApp).app.inject({ url: `/contacts/${id}/risk` })))

const statuses = (responses: { statusCode: number }[]) => {
  const counts: Record<number, number> = {}
  for (const r of responses) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1
  return counts
}

/** What Redis commands failed, as the instances logged them (each one sent the instance to its fallback for a second). */
const redisFailures = ({ logs }: Instances) =>
  logs
    .flatMap((log) => log.lines)
    .flatMap((line) => (line.msg === 'redis command failed' ? [(line.err as { message: string }).message] : []))

/** A Redis command refused because its keys live in different Cluster slots would be logged as a failed command. */
function noCrossSlot(t: Test, { logs }: Instances) {
  const lines = logs.flatMap((log) => log.raw).filter((line) => /CROSSSLOT|MOVED|different slot/i.test(line))
  t.same(lines, [], 'no command failed for keys in different slots')
}

/** Every key family creditgate writes, and whether commands or scripts use its keys together (then they carry one hash tag). */
const KEY_FAMILIES: [RegExp, 'alone' | 'together'][] = [
  [/^creditgate:v1:\{\d+\}:zoho:(calls|inflight|paused|allowed|callers|caller:.+)$/, 'together'],
  [/^creditgate:v1:\{\d+\}:receivables(:next|:lock)?$/, 'together'],
  [/^creditgate:v1:\{\d+\}:receivables:claim:\d+$/, 'alone'],
  [/^creditgate:v1:\{\d+\}:flight:\d+:(lock|failed)$/, 'alone'],
  [/^creditgate:v1:zoho:\{[0-9a-f]{16}\}:token(:lock|:mints)?$/, 'alone'],
  [/^creditgate:v1:\d+:contact:\d+$/, 'alone'],
  [/^creditgate:v1:(instances|epoch)$/, 'alone'],
  [/^creditgate:v1:(ratelimit|authfail):.+$/, 'alone'],
  [/^creditgate:v1:\{\d+\}:(decisions|decision-index)$/, 'together'],
  [/^creditgate:v1:\{\d+\}:payments(:lock)?$/, 'together'],
  [/^creditgate:v1:\{\d+\}:reservations:(lock:\d+|c:\d+|expiry|refs)$/, 'together'],
  [/^creditgate:v1:\{\d+\}:(cases|case-revisions)$/, 'together'],
  [/^creditgate:v1:\{callbacks\}:(due|events|deliveries:case_[0-9a-f]+)$/, 'together'],
  [/^creditgate:v1:auth:.+$/, 'alone'],
  [/^creditgate:v1:\{audit\}:events$/, 'alone'],
]

const TOPOLOGIES: [string, (t: Test) => Promise<TestTopology>][] = [
  ['sentinel', (t) => startSentinels(t)],
  // The budget's keys live on the master that fails over.
  ['cluster', (t) => startCluster(t, budgetKeys(ORG)[0] as string)],
]

t.test('Sentinels or Cluster nodes unreachable at start: the service starts degraded, answers, and says why', async (t) => {
  const sandbox = await startSandbox(t)
  // Nothing listens on port 1.
  for (const env of [{ REDIS_SENTINELS: '127.0.0.1:1', REDIS_SENTINEL_NAME: 'creditgate' }, { REDIS_CLUSTER_NODES: '127.0.0.1:1' }]) {
    const logs = logCapture()
    const { app } = await startApp(t, sandbox, { env: { ...env, LOG_LEVEL: 'warn' }, logs })
    t.match((await app.inject({ url: '/readyz' })).json(), { status: 'degraded', checks: { redis: { ok: true, degraded: true } } })
    t.equal((await app.inject({ url: '/contacts/460000000031001/risk' })).statusCode, 200, 'decided from Zoho')
    const where = env.REDIS_SENTINELS ? 'sentinel creditgate at 127.0.0.1:1' : 'cluster at 127.0.0.1:1'
    t.ok(
      logs.lines.some((line) => line.msg === 'redis not reachable at start: serving degraded until it is' && line.redis === where),
      `the log names ${where}`,
    )
  }
})

for (const [name, start] of TOPOLOGIES) {
  t.test(name, async (t) => {
    const topology = await start(t)
    // Each test starts from an empty Redis (the budget's minute included).
    t.beforeEach(() => topology.flush())

    t.test('3 instances: one Zoho call per contact, purges reach every copy, one shared budget', async (t) => {
      const budget = 60
      const sandbox = await startSandbox(t)
      const ids = addContacts(sandbox, 30, '61', owing)
      const three = await instances(t, 3, sandbox, topology, { ZOHO_REQUESTS_PER_MINUTE: String(budget) })
      const [a, b] = three.apps as [TestApp, TestApp]

      // Concurrent misses: followers on every instance are woken through pub/sub when the leader is done.
      const responses = await decide(
        three.apps,
        Array.from({ length: 150 }, (_, i) => ids[i % ids.length] as string),
      )
      t.same(statuses(responses), { 200: 150 })
      // A command slower than 500 ms (a machine far too busy) would send an instance to its own token and budget.
      t.same(redisFailures(three), [], 'no Redis command failed')
      t.equal(sandbox.stats.contactCalls, 30, 'exactly one Zoho call per contact')
      t.equal(Math.max(...sandbox.stats.byContact.values()), 1)
      t.equal(sandbox.stats.tokenCalls, 1, 'one access token for everyone')

      // A purge on a reaches the copy b keeps in memory.
      const id = ids[0] as string
      const owed = async () => (await b.app.inject({ url: `/contacts/${id}/risk` })).json().facts.outstanding_bcy
      t.equal(await owed(), 0, 'kept in memory by b')
      ;(sandbox.organizations.get(ORG)?.get(id) as Record<string, unknown>).outstanding_receivable_amount_bcy = 70000
      const purge = await a.app.inject({ method: 'DELETE', url: `/contacts/${id}/cache`, headers: { 'x-api-key': ADMIN } })
      t.equal(purge.statusCode, 200)
      await eventually(async () => (await owed()) === 70000, 'the purge to reach b through pub/sub')
      t.equal(sandbox.stats.contactCalls, 31)

      // A copy kept in memory is trusted only while no purge can have been missed: not after the subscription drops.
      const key = contactKey(ORG, id)
      const entry = JSON.parse((await topology.client.get(key)) as string)
      entry.contact.outstanding_receivable_amount_bcy = 1
      await topology.client.set(key, JSON.stringify(entry), 'EX', 3600)
      t.equal(await owed(), 70000, 'b answers from memory, no Redis round trip')
      await topology.killSubscribers()
      await eventually(async () => (await owed()) === 1, 'b to read the shared copy again')
      t.equal(sandbox.stats.contactCalls, 31, 'without asking Zoho')

      // The rest of the minute's budget, and not one call more, for 100 cold contacts over the three.
      const cold = await decide(three.apps, addContacts(sandbox, 100, '63', owing))
      t.equal(sandbox.stats.contactCalls, budget, 'the whole budget is used, and not one call more')
      t.same(statuses(cold), { 200: budget - 31, 503: 100 - (budget - 31) })
      t.match(cold.find((r) => r.statusCode === 503)?.json().detail, new RegExp(`budget of ${budget} calls per minute is spent`))
      t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never answered 429')
      noCrossSlot(t, three)
    })

    t.test('a failover under load: no 5xx, no wrong decision, Zoho calls within the budget', async (t) => {
      const budget = 90
      const sandbox = await startSandbox(t)
      const warm = addContacts(sandbox, 40, '64', owing)
      const cold = addContacts(sandbox, 30, '65', owing)
      // What each contact's decision must be, from an instance on its own Zoho and no Redis at all.
      const reference = await startSandbox(t)
      addContacts(reference, 40, '64', owing)
      addContacts(reference, 30, '65', owing)
      const alone = await startApp(t, reference, { env: { RULES_DIR: await contactOnlyRules(t), RATE_LIMIT_PER_MINUTE: '0' } })
      const expected = new Map<string, string>()
      for (const id of [...warm, ...cold]) {
        const body = (await alone.app.inject({ url: `/contacts/${id}/risk` })).json()
        expected.set(id, JSON.stringify([body.decision, body.reasons.map((r: { rule: string }) => r.rule)]))
      }
      t.same(new Set([...expected.values()].map((v) => JSON.parse(v)[0])), new Set(['allow', 'block']), 'both outcomes are in play')

      const two = await instances(t, 2, sandbox, topology, { ZOHO_REQUESTS_PER_MINUTE: String(budget) })
      const { apps } = two
      // Every instance has seen the warm contacts (cached in Redis, and in each instance's memory).
      const warming = await decide(apps, [...warm, ...warm.slice(1), warm[0] as string])
      t.same(statuses(warming), { 200: warm.length * 2 }, JSON.stringify(warming.find((r) => r.statusCode !== 200)?.json()))

      // Load: 8 callers over both instances, mostly warm contacts, a cold one joining every 100 ms.
      let running = true
      let released = 0
      const asked = new Set<string>()
      const results = { answers: 0, fallback: 0, wrong: [] as string[], status: {} as Record<number, number> }
      /** Per instance: when its first and last answer off Redis (from its in-process fallback) came. */
      const offRedis = apps.map(() => ({ first: 0, last: 0 }))
      const release = setInterval(() => {
        released = Math.min(cold.length, released + 1)
      }, 100)
      const caller = async (n: number) => {
        for (let k = 0; running; k++) {
          // Requests arrive as I/O: a cached answer is all microtasks, and would starve the timers.
          await new Promise((r) => setImmediate(r))
          const useCold = released > 0 && k % 4 === 0
          const id = (useCold ? cold[(n + k) % released] : warm[(n * 7 + k) % warm.length]) as string
          const which = (n + k) % apps.length
          const { app } = apps[which] as TestApp
          asked.add(id)
          const res = await app.inject({ url: `/contacts/${id}/risk` })
          results.answers++
          results.status[res.statusCode] = (results.status[res.statusCode] ?? 0) + 1
          if (!app.shared.link?.up) {
            results.fallback++
            const off = offRedis[which] as (typeof offRedis)[number]
            off.first ||= Date.now()
            off.last = Date.now()
          }
          if (res.statusCode !== 200) continue
          const body = res.json()
          const got = JSON.stringify([body.decision, body.reasons.map((r: { rule: string }) => r.rule)])
          if (got !== expected.get(id)) results.wrong.push(`${id}: ${got} instead of ${expected.get(id)}`)
        }
      }
      const callers = Array.from({ length: 8 }, (_, n) => caller(n))
      const started = Date.now()
      let failedOver = 0
      try {
        await new Promise((r) => setTimeout(r, 500))
        await topology.failover()
        failedOver = Date.now() - started - 500
        // Keep the load on until every instance is back on Redis, and a little after.
        for (const { app } of apps) {
          await eventually(async () => (await app.inject({ url: '/readyz' })).json().status === 'ready', 'back on Redis', 20_000)
        }
        await new Promise((r) => setTimeout(r, 1000))
      } finally {
        running = false
        clearInterval(release)
        await Promise.all(callers)
      }

      t.comment(
        `${name} failover in ${failedOver} ms; ${results.answers} answers, ${results.fallback} while off Redis; ` +
          `answers off Redis spanned ${offRedis.map((o) => `${o.last - o.first} ms`).join(' and ')}; ` +
          `${sandbox.stats.contactCalls} Zoho contact calls for ${asked.size} contacts`,
      )
      t.same(results.status, { 200: results.answers }, 'every answer a decision: no 5xx, no refusal')
      t.same(results.wrong, [], 'no wrong decision')
      t.ok(sandbox.stats.contactCalls <= budget, `Zoho calls within the budget (${sandbox.stats.contactCalls} ≤ ${budget})`)
      t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never answered 429')
      noCrossSlot(t, two)
    })

    t.test('every key creditgate writes is in a known family; keys used together share a hash tag', async (t) => {
      // The shipped rules read receivables: their snapshot is built aside and renamed into place.
      const sandbox = await startSandbox(t)
      const log = logCapture()
      // Two caller keys: the caller share's script runs; a webhook claims a customer's read.
      const env = {
        ...topology.env,
        ADMIN_API_KEYS: `ops:${ADMIN}`,
        API_KEYS: `shop:${SHOP},pos:pos-key-0123456789abcdef`,
        WEBHOOK_SECRET: 'webhook-secret-0123456789',
        LOG_LEVEL: 'warn',
      }
      const one = await startApp(t, sandbox, { env, logs: log })
      const ids = addContacts(sandbox, 5, '66', owing)
      const { app } = one
      const answers = await Promise.all(
        [...ids, ...ids].map((id) => app.inject({ url: `/contacts/${id}/risk`, headers: { 'x-api-key': SHOP } })),
      )
      t.same(statuses(answers), { 200: 10 })
      await eventually(async () => (await topology.keys()).some((key) => key.endsWith(':receivables')), 'the receivables snapshot')
      const hook = await app.inject({
        method: 'POST',
        url: '/webhooks/zoho',
        headers: { 'x-webhook-secret': 'webhook-secret-0123456789' },
        payload: { invoice: { customer_id: '460000000031012' } },
      })
      t.equal(hook.statusCode, 200)
      await eventually(
        async () => (await topology.keys()).some((key) => key.includes(':receivables:claim:')),
        'the claim of a customer’s read',
      )
      t.equal((await app.inject({ method: 'DELETE', url: `/contacts/${ids[0]}/cache`, headers: { 'x-api-key': ADMIN } })).statusCode, 200)
      t.equal((await app.inject({ url: '/contacts/460000000099999/risk', headers: { 'x-api-key': SHOP } })).statusCode, 404)
      // Rate-limit counts reach Redis in batches, a moment later.
      await eventually(
        async () => (await topology.keys()).some((key) => key.startsWith('creditgate:v1:ratelimit:')),
        'the rate-limit counts',
      )
      const keys = await topology.keys()
      const families = [':zoho:calls', ':zoho:allowed', ':zoho:callers', ':zoho:caller:shop', ':receivables', ':receivables:claim:']
      for (const family of [...families, ':token', ':contact:', 'creditgate:v1:instances', 'creditgate:v1:epoch']) {
        t.ok(
          keys.some((key) => key.includes(family)),
          `the workload wrote ${family}`,
        )
      }
      const unknown = keys.filter((key) => !KEY_FAMILIES.some(([family]) => family.test(key)))
      t.same(unknown, [], 'every key is in a known family')
      for (const key of keys) {
        const together = KEY_FAMILIES.find(([family]) => family.test(key))?.[1] === 'together'
        if (together && !/\{[^}]+\}/.test(key)) t.fail(`${key} is used with other keys but has no hash tag`)
      }
      noCrossSlot(t, { apps: [], logs: [log] })
    })
  })
}
