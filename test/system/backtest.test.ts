import t from 'tap'
import { fillRedisHistory, timeBacktest } from '../../src/cli/history-fill.js'
import { backtest } from '../../src/cli/rules.js'
import { SAMPLE_CONTACTS, zohoContact } from '../../src/sandbox/contacts.js'
import { BACKTESTS_WAITING, createBacktester } from '../../src/services/rule-sets/backtest.js'
import { readRulesFolder } from '../../src/services/rule-sets/sources.js'
import { contactOnlyRules, ORG, problem, sandboxEnv, startApp, startBuiltService, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { ruleSetOf } from '../helpers/rules.js'
import { STALL_MS, serverStall } from '../helpers/stall.js'

const ADMIN = 'admin-key-0123456789abcdef'
const ENV = { ADMIN_API_KEYS: `ops:${ADMIN}` }
const admin = { authorization: `Bearer ${ADMIN}` }

/** The shipped rules with the 50,000 threshold lowered to 40,000 (same rule name and code). */
async function lowerThreshold() {
  const { rules } = await readRulesFolder('rules')
  return rules.map((r) => {
    if (r.file !== 'outstanding-over-50000.json') return r
    const rule = JSON.parse(r.content as string)
    rule.conditions.all[0].value = 40000
    rule.event.params.message = 'Outstanding receivables {{outstanding_bcy}} exceed 40,000.00'
    return { file: r.file, content: rule }
  })
}

t.test('a candidate lowering 50,000 to 40,000 flips exactly the recorded contacts owing more than 40,000 and at most 50,000', async (t) => {
  const sandbox = await startSandbox(t)
  // Beside the samples (Indigo Apparel owes exactly 50,000.00): one just over 40,000, one in between, one at exactly 40,000.
  const contacts = sandbox.organizations.get(ORG) as Map<string, Record<string, unknown>>
  const extra = { '460000000041001': 40000.01, '460000000041002': 45000, '460000000041003': 40000 }
  for (const [id, owed] of Object.entries(extra))
    contacts.set(id, zohoContact(id, `Owes ${owed}`, { outstanding_receivable_amount_bcy: owed }))
  const { app } = await startApp(t, sandbox, { env: ENV })
  const ids = [...SAMPLE_CONTACTS.map((c) => c.id), ...Object.keys(extra)]
  const decided: { id: string; contact: string; decision: string }[] = []
  for (let round = 0; round < 2; round++) {
    for (const contact of ids) {
      const res = await app.inject({ url: `/contacts/${contact}/risk${round ? '?order_amount=500' : ''}`, headers: admin })
      t.equal(res.statusCode, 200)
      decided.push({ id: res.json().decision_id, contact, decision: res.json().decision })
    }
  }
  await app.history.flush()
  // Counted by hand from the sandbox data: 50,000.00 (Indigo Apparel), 40,000.01 and 45,000 are over
  // 40,000 and not over 50,000, and allowed today; 40,000 exactly is not over 40,000.
  const flipping = ['460000000031008', '460000000041001', '460000000041002']
  for (const d of decided.filter((d) => flipping.includes(d.contact))) t.equal(d.decision, 'allow', `${d.contact} allowed today`)

  const res = await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: { rules: await lowerThreshold() } })
  t.equal(res.statusCode, 200, res.body)
  const result = res.json()
  const total = decided.length
  t.equal(result.evaluated, total, 'every recorded decision evaluated')
  t.equal(result.not_comparable, 0)
  t.equal(result.changed, flipping.length * 2, 'three contacts, two decisions each')
  const count = (decision: string) => decided.filter((d) => d.decision === decision).length
  t.same(result.matrix, {
    allow: { allow: count('allow') - 6, review: 0, block: 6 },
    review: { allow: 0, review: count('review'), block: 0 },
    block: { allow: 0, review: 0, block: count('block') },
  })
  t.same(
    result.examples.map((e: { contact_id: string }) => e.contact_id).sort(),
    [...flipping, ...flipping].sort(),
    'the examples are the flipped decisions',
  )
  t.same(
    result.examples.map((e: { decision_id: string }) => e.decision_id),
    decided
      .filter((d) => flipping.includes(d.contact))
      .reverse()
      .map((d) => d.id),
    'newest first, with their decision ids',
  )
  t.match(result.examples[0], { before: 'allow', after: 'block' })
  t.same(
    result.examples[0].reasons_after.map((r: { rule: string; code: string; severity: string }) => [r.rule, r.code, r.severity]),
    [['outstanding-over-50000', 'OUTSTANDING_OVER_LIMIT', 'block']],
  )
  const threshold = result.rules.find((r: { name: string }) => r.name === 'outstanding-over-50000')
  t.equal(threshold.fired_after - threshold.fired_before, 6, 'the threshold rule fired 6 more times')
  const others = result.rules.filter((r: { name: string }) => r.name !== 'outstanding-over-50000')
  t.ok(others.length > 0)
  t.ok(
    others.every((r: { fired_before: number; fired_after: number }) => r.fired_before === r.fired_after),
    'the other rules fire as they did',
  )

  const same = (await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: {} })).json()
  t.equal(same.changed, 0, 'the folder as it is (the default candidate) changes nothing')
  t.equal(same.evaluated, total)
  const limited = (await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: { limit: 5, since: '1h' } })).json()
  t.equal(limited.evaluated, 5, 'limit: the newest 5')
  const future = (
    await app.inject({
      method: 'POST',
      url: '/rules/backtest',
      headers: admin,
      payload: { since: new Date(Date.now() + 60_000).toISOString() },
    })
  ).json()
  t.equal(future.evaluated, 0, 'nothing recorded after since')

  // npm run rules:backtest: the same candidate from a folder, against the running service.
  const dir = t.testdir(
    Object.fromEntries(
      (await lowerThreshold()).map((r) => [r.file, typeof r.content === 'string' ? r.content : JSON.stringify(r.content)]),
    ),
  )
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const lines: string[] = []
  const print = (line = '') => void lines.push(line)
  t.equal(await backtest([dir, '--since', '1h'], { CREDITGATE_URL: base, CREDITGATE_ADMIN_KEY: ADMIN }, print), 0, lines.join('\n'))
  const text = lines.join('\n')
  t.match(text, `${total} evaluated, 6 would change, 0 not comparable`)
  t.match(text, new RegExp(`allow\\s+${count('allow') - 6}\\s+0\\s+6\\n`), 'the matrix, allow row')
  t.match(text, /outstanding-over-50000\s+\d+\s+\d+ {2}←/, 'the rule that fires differently is marked')
  t.match(text, /contact 460000000031008 {2}allow → block {2}OUTSTANDING_OVER_LIMIT/)
  lines.length = 0
  t.equal(await backtest([dir], { CREDITGATE_URL: base, CREDITGATE_ADMIN_KEY: 'not-an-admin-key-at-all' }, print), 1)
  t.match(lines.join('\n'), /✗ 401/)
  t.equal(await backtest([dir], { CREDITGATE_URL: base }, print), 2, 'no key: says which variable to set')
})

t.test('an invalid candidate is a 422 naming the file and path; non-admins get 401/403', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...ENV, API_KEYS: 'shop:shop-key-0123456789abcdef' } })
  const broken = [
    {
      file: 'typo.json',
      content: {
        name: 'typo',
        conditions: { all: [{ fact: 'outstandng_bcy', operator: 'greaterThan', value: 1 }] },
        event: { type: 'block', params: { code: 'X', message: 'x' } },
      },
    },
  ]
  const body = problem(
    t,
    await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: { rules: broken } }),
    422,
    'invalid_rules',
  )
  t.match(body.detail, /typo\.json \$\.conditions\.all\[0\]\.fact/)
  const validate = (await app.inject({ method: 'POST', url: '/rules/validate', headers: admin, payload: { rules: broken } })).json()
  t.match(body.detail, validate.errors[0].message, 'the same error /rules/validate gives')
  problem(t, await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: { rules: [] } }), 422, 'invalid_rules')
  problem(t, await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: { limit: 0 } }), 400, 'invalid_request')
  problem(
    t,
    await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: { since: 'last week' } }),
    400,
    'invalid_request',
  )
  problem(
    t,
    await app.inject({
      method: 'POST',
      url: '/rules/backtest',
      headers: { authorization: 'Bearer shop-key-0123456789abcdef' },
      payload: {},
    }),
    403,
    'forbidden',
  )
  problem(t, await app.inject({ method: 'POST', url: '/rules/backtest', payload: {} }), 401, 'unauthorized')
})

t.test('decisions recorded without the receivables facts a candidate reads are not comparable, never guessed', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...ENV, RULES_DIR: await contactOnlyRules(t) } })
  for (const c of SAMPLE_CONTACTS.slice(0, 4))
    t.equal((await app.inject({ url: `/contacts/${c.id}/risk`, headers: admin })).statusCode, 200)
  await app.history.flush()
  const { rules } = await readRulesFolder('rules')
  const result = (await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: { rules } })).json()
  t.match(result, { evaluated: 0, changed: 0, not_comparable: 4 })
  const contactOnly = (await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: {} })).json()
  t.match(contactOnly, { evaluated: 4, changed: 0, not_comparable: 0 }, 'the set they were decided with compares them all')
})

t.test("100,000 recorded decisions are backtested off the service's thread: /healthz keeps answering meanwhile", async (t) => {
  // The built service in a process of its own, as it runs in production: the test runner's coverage
  // instrumentation slows whatever runs inside it several times over.
  const redis = await startRedis(t)
  await fillRedisHistory(redis.url, ORG, 100_000)
  const sandbox = await startSandbox(t)
  const base = await startBuiltService(t, { ...sandboxEnv(sandbox, ENV), REDIS_URL: redis.url })

  const rules = await lowerThreshold()
  await serverStall(base) // reads (and so resets) the service's longest event-loop delay
  const timing = await timeBacktest(base, ADMIN, { rules })
  const stallMs = await serverStall(base)
  t.equal(timing.status, 200)
  const result = timing.body as { evaluated: number; changed: number; matrix: { allow: { block: number } } }
  t.equal(result.evaluated, 100_000)
  // Customers 1001…1250 owe more than 40,000 and at most 50,000: 250 customers, 50 decisions each.
  t.equal(result.changed, 250 * 50)
  t.equal(result.matrix.allow.block, 250 * 50)
  const { elapsedMs: elapsed, healthzP99Ms: p99 } = timing
  t.comment(`backtest of 100,000 decisions: ${elapsed.toFixed(0)} ms; /healthz p99 ${p99.toFixed(1)} ms over ${timing.probes} probes`)
  // The targets (≤ 2 s, /healthz p99 ≤ 50 ms) are figures of `npm run bench` on a quiet machine;
  // here the machine is shared, so this checks what a stall would break, measured inside the
  // service (its event loop's longest delay, not a wall-clock bound that also counts other
  // processes' turns): on the service's thread the backtest would hold the loop for seconds.
  t.ok(timing.probes >= 10, `probed throughout (${timing.probes} probes)`)
  t.ok(
    stallMs < STALL_MS,
    `the service's event loop was never held longer than ${Math.round(stallMs)} ms (/healthz p99 ${p99.toFixed(1)} ms)`,
  )
})

// Issue 31, finding 9 (failed before its fix).
t.test('README and code agree: one backtest runs, two may wait, the next is 429', async (t) => {
  const readme = await (await import('node:fs/promises')).readFile('README.md', 'utf8')
  t.match(readme, /one backtest at a time, two more may wait \(then 429\)/)
  t.equal(BACKTESTS_WAITING, 2)
  const backtests = createBacktester()
  t.teardown(() => backtests.close())
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  // A backtest whose records have not all arrived yet: it runs until released.
  async function* records() {
    await held
    yield* []
  }
  const set = ruleSetOf([
    {
      name: 'big',
      conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 1 }] },
      type: 'block',
      code: 'BIG',
      message: 'big',
    },
  ])
  const running = [backtests.run(set, { records: records(), limit: 10 })]
  for (let i = 0; i < BACKTESTS_WAITING; i++) running.push(backtests.run(set, { records: records(), limit: 10 }))
  await t.rejects(backtests.run(set, { records: records(), limit: 10 }), { code: 'rate_limited' }, 'the fourth is refused')
  release()
  for (const result of await Promise.all(running)) t.equal(result.evaluated, 0, 'the running one and the two waiting complete')
})
