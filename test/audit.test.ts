import { spawn, spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { historyKey, indexKey } from '../src/adapters/redis/history.js'
import { loadConfig } from '../src/config.js'
import { boundRecord, type DecisionRecord, DecisionRecordSchema, newDecisionId, RECORD_BOUNDS } from '../src/domain/history.js'
import { BACKTESTS_WAITING, createBacktester } from '../src/rules/backtest.js'
import { zohoContact } from '../src/sandbox/contacts.js'
import { buildServer } from '../src/server.js'
import { LIST_BOUNDS } from '../src/services/history.js'
import { contactOnlyRules, eventually, ORG, problem, sandboxEnv, startApp, startSandbox } from './helpers/app.js'
import { startRedis } from './helpers/redis.js'
import { ruleSetOf } from './helpers/rules.js'

/**
 * The audit trail under load and hostile data (issue 31), one test per finding: each failed
 * before the fix. Decisions stay findable by their id, records and pages are bounded, the contact
 * is the one asked for, and no client holds a socket by dripping.
 */
const SHOP = 'shop-key-0123456789abcdef'
const ADMIN = 'ops-key-0123456789abcdef0'
const KEYS = { API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${ADMIN}` }
const auth = (key: string) => ({ authorization: `Bearer ${key}` })
type App = Awaited<ReturnType<typeof startApp>>['app']

/** Redis INFO commandstats: calls of a command so far (commands run by scripts included). */
async function calls(client: { info(section: string): Promise<string> }, command: string): Promise<number> {
  const line = (await client.info('commandstats')).split('\n').find((l) => l.startsWith(`cmdstat_${command}:`))
  return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0)
}

/** A counter's value in /metrics. */
async function metric(app: App, name: string): Promise<number> {
  const text = (await app.inject({ url: '/metrics' })).body
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return Number(line?.split(' ').at(-1) ?? Number.NaN)
}

/** `count` decisions for a cached contact, 25 at a time; their ids. */
async function decideMany(t: Test, app: App, contactId: string, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let from = 0; from < count; from += 25) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(25, count - from) }, () => app.inject({ url: `/contacts/${contactId}/risk`, headers: auth(SHOP) })),
    )
    for (const res of answers) {
      if (res.statusCode !== 200) t.fail(`a decision answered ${res.statusCode}: ${res.body}`)
      ids.push(res.json().decision_id)
    }
  }
  return ids
}

t.test('1. a decision Zoho took its time over, made while 1,500 cached decisions were recorded, is found by its id', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...KEYS, REDIS_URL: redis.url, RULES_DIR: await contactOnlyRules(t) } })
  const cached = '460000000031001'
  t.equal((await app.inject({ url: `/contacts/${cached}/risk`, headers: auth(SHOP) })).statusCode, 200)

  // Zoho holds the cold contact's call until the others are recorded.
  const release = sandbox.hold()
  const calls = sandbox.stats.contactCalls
  const cold = app.inject({ url: '/contacts/460000000026049/risk', headers: auth(SHOP) })
  await eventually(() => sandbox.stats.contactCalls > calls, 'the cold call to reach Zoho')
  await decideMany(t, app, cached, 1500)
  await app.history.flush()
  release()
  const answer = await cold
  t.equal(answer.statusCode, 200)
  const id = answer.json().decision_id as string
  await app.history.flush()

  for (const [who, key] of [
    ['the key that asked', SHOP],
    ['an admin', ADMIN],
  ]) {
    const res = await app.inject({ url: `/decisions/${id}`, headers: auth(key as string) })
    t.equal(res.statusCode, 200, `${who} finds it`)
    t.equal(res.json().decision_id, id)
  }
  const listed = (await app.inject({ url: '/decisions?contact_id=460000000026049', headers: auth(ADMIN) })).json()
  t.same(
    listed.decisions.map((d: { decision_id: string }) => d.decision_id),
    [id],
    'and listed',
  )
})

t.test('1. an id the history does not keep is 404 without reading a single entry', async (t) => {
  const redis = await startRedis(t)
  await redis.client.connect()
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...KEYS, REDIS_URL: redis.url, RULES_DIR: await contactOnlyRules(t) } })
  const ids = await decideMany(t, app, '460000000031001', 1200)
  await app.history.flush()
  const madeUp = [newDecisionId(1), newDecisionId(Date.now() - 5000), newDecisionId(Date.now() + 60_000)]
  const before = await calls(redis.client, 'xrange')
  for (const id of madeUp) problem(t, await app.inject({ url: `/decisions/${id}`, headers: auth(ADMIN) }), 404, 'decision_not_found')
  t.equal(await calls(redis.client, 'xrange'), before, 'no entry read for three made-up ids (old, within the kept range, future)')
  t.equal((await app.inject({ url: `/decisions/${ids[0]}`, headers: auth(SHOP) })).statusCode, 200)
  t.equal(await calls(redis.client, 'xrange'), before + 1, 'a kept one is one entry read')
  t.equal(await redis.client.hlen(indexKey(ORG)), 1200 + 1, 'one index field per kept decision, and the legacy mark')
})

t.test('1. the index lives as long as the stream keeps its entries; entries recorded before it are still found', async (t) => {
  const redis = await startRedis(t)
  await redis.client.connect()
  // A decision recorded by a creditgate without the index: stream entry only.
  const legacyId = newDecisionId(Date.now() - 1000)
  const record = { decision_id: legacyId, caller: 'shop', contact_id: '460000000031001', decision: 'allow' }
  await redis.client.xadd(historyKey(ORG), `${Date.now() - 1000}-*`, 'd', legacyId, 'j', JSON.stringify(record))
  const sandbox = await startSandbox(t)
  const env = { ...KEYS, REDIS_URL: redis.url, RULES_DIR: await contactOnlyRules(t), DECISION_HISTORY_MAX: '100' }
  const { app } = await startApp(t, sandbox, { env })
  const first = await decideMany(t, app, '460000000031001', 50)
  await app.history.flush()
  t.equal((await app.inject({ url: `/decisions/${legacyId}`, headers: auth(SHOP) })).statusCode, 200, 'the older entry is found')
  const later = await decideMany(t, app, '460000000031001', 150)
  await app.history.flush()
  t.equal(await redis.client.xlen(historyKey(ORG)), 100, 'trimmed to DECISION_HISTORY_MAX (one at a time at this size)')
  t.equal(await redis.client.hlen(indexKey(ORG)), 101, 'and the index with it')
  t.equal(await redis.client.hget(indexKey(ORG), 'legacy_until'), '0-0', 'no entry from before the index is left')
  for (const id of [legacyId, first[0]])
    problem(t, await app.inject({ url: `/decisions/${id}`, headers: auth(ADMIN) }), 404, 'decision_not_found')
  t.equal((await app.inject({ url: `/decisions/${later[149]}`, headers: auth(SHOP) })).statusCode, 200)
  t.equal((await app.inject({ url: `/decisions/${later[50]}`, headers: auth(SHOP) })).statusCode, 200, 'the oldest kept')
})

/** Custom fields of 1,000 characters each, cf_note_0 … */
const notes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ api_name: `cf_note_${i}`, label: `Note ${i}`, value: `${i}`.padEnd(1000, 'x') }))

/**
 * Contacts whose custom fields hold 21 KB (21 fields of 1,000 characters: 460000000099001) and
 * 40 KB (460000000099002), the first 14 read by a rule.
 */
async function notesApp(t: Test, env: Record<string, string>) {
  const sandbox = await startSandbox(t)
  sandbox.organizations.get(ORG)?.set('460000000099001', zohoContact('460000000099001', 'Notes Ltd', { custom_fields: notes(21) }))
  sandbox.organizations.get(ORG)?.set('460000000099002', zohoContact('460000000099002', 'More Notes Ltd', { custom_fields: notes(40) }))
  return { sandbox, ...(await startApp(t, sandbox, { env: { ...KEYS, RULES_DIR: await notesRules(t), ...env } })) }
}

/** The shipped rules that read the contact only, and one that reads custom fields cf_note_0 … cf_note_13. */
async function notesRules(t: Test): Promise<string> {
  const rules = await contactOnlyRules(t)
  const conditions = Array.from({ length: 14 }, (_, i) => ({
    fact: 'custom_fields',
    path: `$.cf_note_${i}`,
    operator: 'equal',
    value: 'x',
  }))
  const rule = { name: 'notes', conditions: { any: conditions }, event: { type: 'review', params: { code: 'NOTE', message: 'a note' } } }
  await writeFile(join(rules, 'notes.json'), JSON.stringify(rule))
  return rules
}

t.test('2. a record keeps the custom fields the rules read, summarises the rest, and stays within its size', async (t) => {
  const { app } = await notesApp(t, {})
  const records = []
  for (const [id, fields] of [
    ['460000000099001', 21],
    ['460000000099002', 40],
  ] as const) {
    const res = await app.inject({ url: `/contacts/${id}/risk`, headers: auth(SHOP) })
    t.equal(res.statusCode, 200)
    t.equal(Object.keys(res.json().facts.custom_fields).length, fields, 'the answer shows every field')
    await app.history.flush()
    const recorded = await app.inject({ url: `/decisions/${res.json().decision_id}`, headers: auth(SHOP) })
    t.ok(Buffer.byteLength(recorded.body) <= RECORD_BOUNDS.bytes, `${Buffer.byteLength(recorded.body)} bytes`)
    t.ok(DecisionRecordSchema.safeParse(recorded.json()).success, 'a record of its schema')
    records.push(recorded.json())
  }
  const [some, many] = records
  const read = Array.from({ length: 14 }, (_, i) => `cf_note_${i}`)
  t.same(Object.keys(some.facts.custom_fields), [...read, ...Array.from({ length: 7 }, (_, i) => `cf_note_${14 + i}`)], '21 fields fit')
  t.equal(some.facts.custom_fields.cf_note_3.length, 1000, 'those the rules read whole')
  t.equal(some.facts.custom_fields.cf_note_14.length, RECORD_BOUNDS.otherText, 'the others shortened')
  t.same(some.cut, { custom_fields: 0, texts: 7, reasons: 0 })
  t.same(Object.keys(many.facts.custom_fields), read, 'of 40, the 14 the rules read; the others left out to fit')
  t.same(many.cut, { custom_fields: 26, texts: 0, reasons: 0 })
  t.equal(await metric(app, 'creditgate_history_cut_total{part="record"}'), 2)
  t.equal(await metric(app, 'creditgate_history_cut_total{part="custom_field"}'), 26)
  t.equal(await metric(app, 'creditgate_history_cut_total{part="text"}'), 7)

  // A backtest of a rule reading a field a record left out cannot know it: not comparable.
  const reads = (field: string) => ({
    file: 'reads.json',
    content: {
      name: 'reads',
      conditions: { all: [{ fact: 'custom_fields', path: `$.${field}`, operator: 'equal', value: 'x' }] },
      event: { type: 'block', params: { code: 'READS', message: 'reads' } },
    },
  })
  const backtest = async (field: string) =>
    (await app.inject({ method: 'POST', url: '/rules/backtest', headers: auth(ADMIN), payload: { rules: [reads(field)] } })).json()
  t.match(await backtest('cf_note_30'), { evaluated: 1, not_comparable: 1 }, 'left out of one record, absent from the other')
  t.match(await backtest('cf_note_2'), { evaluated: 2, not_comparable: 0 }, 'kept in both')
})

t.test('2. the bounds, stage by stage: texts, the fields no rule reads, the fields they read, reasons', async (t) => {
  const base: Omit<DecisionRecord, 'facts'> = {
    decision_id: newDecisionId(Date.now()),
    organization_id: ORG,
    contact_id: '1',
    caller: 'shop',
    order: null,
    rules_version: 'sha256:x',
    decision: 'block',
    reasons: [{ rule: 'r', code: 'R', severity: 'block', message: 'm' }],
    alerts: [],
    evaluated_at: new Date().toISOString(),
  }
  const facts = (customFields: Record<string, string>, name = 'Name'): DecisionRecord['facts'] => ({
    contact_id: '1',
    contact_name: name,
    contact_type: 'customer',
    status: 'active',
    currency_code: 'INR',
    outstanding_bcy: 1,
    unused_credits_bcy: 0,
    credit_limit: null,
    order_amount: 0,
    exposure_bcy: 1,
    available_credit_bcy: null,
    payment_terms: 30,
    contact_age_seconds: 0,
    custom_fields: customFields,
    overdue_bcy: null,
    oldest_overdue_days: null,
    overdue_invoices: null,
    overdue_ratio: null,
    open_orders_bcy: null,
    exposure_with_orders_bcy: null,
  })
  const fields = (n: number, length: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`cf_${i}`, 'v'.repeat(length)]))
  const none = { all: false, names: new Set<string>() }
  const parse = (r: DecisionRecord, read = none) => {
    const { json, cut } = boundRecord(r, read)
    t.ok(Buffer.byteLength(json) <= RECORD_BOUNDS.bytes)
    return { record: JSON.parse(json) as DecisionRecord, cut }
  }

  const plain = parse({ ...base, facts: facts({ cf_a: 'On' }) })
  t.equal(plain.cut, undefined, 'a usual record is kept as it is')
  t.notOk('cut' in plain.record)

  const long = parse({ ...base, facts: facts(fields(30, 150), 'N'.repeat(5000)) })
  t.equal(long.record.facts?.contact_name.length, RECORD_BOUNDS.text)
  t.equal(Object.keys(long.record.facts?.custom_fields ?? {}).length, RECORD_BOUNDS.otherFields, 'the first 20 fields no rule reads')
  t.equal(String(long.record.facts?.custom_fields.cf_0).length, RECORD_BOUNDS.otherText)
  t.same(long.cut, { custom_fields: 10, texts: 21, reasons: 0 })

  const fourteen = Array.from({ length: 14 }, (_, i) => `cf_${i}`)
  const wide = parse({ ...base, facts: facts(fields(40, 1000)) }, { all: false, names: new Set(fourteen) })
  t.same(Object.keys(wide.record.facts?.custom_fields ?? {}), fourteen, 'over the size: only the fields the rules read, whole')
  t.equal(String(wide.record.facts?.custom_fields.cf_13).length, 1000)
  t.same(wide.cut, { custom_fields: 26, texts: 0, reasons: 0 })

  const all = parse({ ...base, facts: facts(fields(40, 1000)) }, { all: true, names: new Set() })
  t.same(all.record.facts?.custom_fields, {}, 'more than fits even of those the rules read: none')
  t.equal(all.cut?.custom_fields, 40)

  const message = 'x'.repeat(1000)
  const reasons = Array.from({ length: 500 }, (_, i) => ({ rule: `rule-${i}`, code: `CODE_${i}`, severity: 'block' as const, message }))
  const many = parse({ ...base, facts: null, reasons, alerts: [{ rule: 'a', code: 'A', message }] })
  t.equal(many.record.decision, 'block', 'the decision always stays')
  t.ok((many.record.reasons.length ?? 0) > 50, `${many.record.reasons.length} reasons kept, in their order`)
  t.equal(many.record.reasons[0]?.rule, 'rule-0')
  t.equal(many.record.reasons[0]?.message.length, RECORD_BOUNDS.shortText)
  t.equal(many.cut?.reasons, 500 - many.record.reasons.length + 1, 'the rest of the reasons and the alert counted')
})

/** Numbers of a Prometheus text exposition, by series. */
async function scrape(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text()
  return new Map(
    text.split('\n').flatMap((line) => (/^[a-z]/.test(line) ? [[line.split(' ')[0] as string, Number(line.split(' ')[1])]] : [])),
  )
}

t.test('2. four parallel pages of the largest records: /healthz answers, Redis stays up, the event loop never stalls', async (t) => {
  // The built service in a process of its own, as in production (the test runner's coverage
  // instrumentation slows what runs inside it several times over). Its event-loop delay is measured
  // inside it: prom-client's monitorEventLoopDelay, reset at every scrape of /metrics.
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  sandbox.organizations.get(ORG)?.set('460000000099001', zohoContact('460000000099001', 'Notes Ltd', { custom_fields: notes(21) }))
  const { NODE_V8_COVERAGE: _, ...env } = process.env
  const child = spawn(process.execPath, ['dist/server.js'], {
    env: {
      ...env,
      ...sandboxEnv(sandbox, { ...KEYS, RULES_DIR: await notesRules(t) }),
      REDIS_URL: redis.url,
      PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk
  })
  const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/
  await eventually(() => listening.test(output), 'the server to listen', 20_000)
  const base = listening.exec(output)?.[1] as string
  const ids: string[] = []
  for (let from = 0; from < 2000; from += 25) {
    const answers = await Promise.all(
      Array.from({ length: 25 }, () => fetch(`${base}/contacts/460000000099001/risk`, { headers: auth(SHOP) }).then((r) => r.json())),
    )
    ids.push(...answers.map((a) => (a as { decision_id: string }).decision_id))
  }
  await eventually(
    async () => (await fetch(`${base}/decisions/${ids.at(-1)}`, { headers: auth(SHOP) })).status === 200,
    'the last recorded',
  )
  const before = await scrape(base)

  // Five times: four pages of 500 at once, /healthz probed meanwhile, the delay over that window
  // read from the service (a scrape resets it). A stall of the service's own shows every time; the
  // shared machine's noise (an idle window here sometimes shows 70 ms) seldom in most, so the
  // median of the five is what is held to 50 ms.
  const rounds: { p99: number; max: number; probes: number[]; pages: { status: number; body: string }[] }[] = []
  for (let round = 0; round < 5; round++) {
    await scrape(base)
    const probes: number[] = []
    let reading = true
    const probing = (async () => {
      while (reading) {
        probes.push((await fetch(`${base}/healthz`)).status)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()
    const pages = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const res = await fetch(`${base}/decisions?limit=500`, { headers: auth(ADMIN) })
        return { status: res.status, body: await res.text() }
      }),
    )
    reading = false
    await probing
    const lag = await scrape(base)
    rounds.push({
      p99: (lag.get('nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000,
      max: (lag.get('nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000,
      probes,
      pages,
    })
  }
  const p99 = rounds.map((r) => r.p99).sort((a, b) => a - b)[2] as number
  const page = rounds[0]?.pages[0]?.body ?? ''
  t.comment(
    `four pages of ${JSON.parse(page).decisions.length} records (${Buffer.byteLength(page)} bytes) at once, five times; the service's event-loop delay meanwhile: p99 ${rounds.map((r) => r.p99.toFixed(1)).join(', ')} ms, max ${rounds.map((r) => r.max.toFixed(1)).join(', ')} ms`,
  )
  for (const { pages } of rounds) {
    for (const { status, body } of pages) {
      t.equal(status, 200)
      const { decisions, next_cursor } = JSON.parse(body)
      if (decisions.length === 0 || next_cursor === null) t.fail('a page without decisions or a cursor')
      if (Buffer.byteLength(body) > LIST_BOUNDS.pageBytes + 100) t.fail('a page over its bytes')
    }
  }
  t.ok(Buffer.byteLength(JSON.stringify(JSON.parse(page).decisions[0])) > RECORD_BOUNDS.bytes - 1024, 'the largest records')
  t.ok(
    rounds.every((r) => r.probes.length > 0 && r.probes.every((s) => s === 200)),
    '/healthz answered throughout',
  )
  t.ok(p99 < 50, `event-loop delay p99 (median of five) ${p99.toFixed(1)} ms < 50 ms`)
  const after = await scrape(base)
  t.equal(after.get('creditgate_redis_degraded_total'), before.get('creditgate_redis_degraded_total'), 'Redis was never taken for down')
  const own = await fetch(`${base}/decisions/${ids[1234]}`, { headers: auth(SHOP) })
  t.equal(own.status, 200, 'the owner finds its decision')
})

t.test('3. times before 1970 mean "from the first"; an oversized cursor is a 400; neither takes Redis down', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...KEYS, REDIS_URL: redis.url, RULES_DIR: await contactOnlyRules(t) } })
  await decideMany(t, app, '460000000031001', 30)
  await app.history.flush()
  const list = async (query: string) => app.inject({ url: `/decisions?${query}`, headers: auth(ADMIN) })
  for (const since of ['999999d', '30000d', '1900-01-01', '0001-01-01T00:00:00Z']) {
    const res = await list(`since=${since}&limit=500`)
    t.equal(res.statusCode, 200, since)
    t.equal(res.json().decisions.length, 30, `since=${since}: all of them`)
  }
  t.same((await list('until=1900-01-01')).json().decisions, [], 'until before 1970: none')
  for (const cursor of [`${Date.now()}-18446744073709551616.${ORG}`, `18446744073709551616-0.${ORG}`, `1-0.${'9'.repeat(20)}`]) {
    problem(t, await list(`cursor=${encodeURIComponent(cursor)}`), 400, 'invalid_request')
  }
  const backtest = await app.inject({ method: 'POST', url: '/rules/backtest', headers: auth(ADMIN), payload: { since: '999999d' } })
  t.equal(backtest.statusCode, 200)
  t.equal(backtest.json().evaluated, 30)
  t.equal(await metric(app, 'creditgate_redis_degraded_total'), 0, 'Redis never taken for down')
  t.equal((await app.inject({ url: '/readyz' })).json().status, 'ready')
})

t.test('3. a Redis reply refusing a command fails that request, and is not taken for an outage', async (t) => {
  const redis = await startRedis(t)
  await redis.client.connect()
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...KEYS, REDIS_URL: redis.url, RULES_DIR: await contactOnlyRules(t) } })
  // Someone else's key where the history lives: every history command on it is refused (WRONGTYPE).
  await redis.client.set(historyKey(ORG), 'not a stream')
  problem(t, await app.inject({ url: '/decisions', headers: auth(ADMIN) }), 500, 'internal_error')
  t.equal(app.shared.link?.up, true, 'Redis is still in use')
  t.equal(await metric(app, 'creditgate_redis_degraded_total'), 0)
  t.equal((await app.inject({ url: '/readyz' })).json().status, 'ready')
  t.equal((await app.inject({ url: '/contacts/460000000031001/risk', headers: auth(SHOP) })).statusCode, 200, 'decisions go on')
})

t.test('4. contact ids are canonical: a leading zero is a 400 and never reaches Zoho', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  for (const [method, url] of [
    ['GET', '/contacts/0460000000031013/risk'],
    ['POST', '/contacts/0460000000031013/risk'],
    ['GET', '/contacts/00/risk'],
    ['GET', '/contacts/0460000000031013/receivables'],
  ] as const) {
    const res = await app.inject({ method, url, headers: auth(ADMIN), ...(method === 'POST' ? { payload: {} } : {}) })
    t.match(problem(t, res, 400, 'invalid_contact_id').detail, /without a leading zero/, `${method} ${url}`)
  }
  problem(t, await app.inject({ url: '/decisions?contact_id=0460000000031013', headers: auth(ADMIN) }), 400, 'invalid_request')
  t.equal(sandbox.stats.contactCalls, 0, 'Zoho is not asked')
})

t.test('4. a Zoho answer naming another contact is a 502 upstream_error, never cached or decided on', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  // Asked for the customer 120 days overdue, "Zoho" sends one in good standing.
  const other = sandbox.organizations.get(ORG)?.get('460000000031001')
  sandbox.faults.contact.push({ status: 200, body: { code: 0, message: 'success', contact: other } })
  const wrong = await app.inject({ url: '/contacts/460000000031013/risk', headers: auth(SHOP) })
  t.match(problem(t, wrong, 502, 'upstream_error').detail, /contact_id 460000000031001, not the 460000000031013 asked for/)
  const right = await app.inject({ url: '/contacts/460000000031013/risk', headers: auth(SHOP) })
  t.equal(right.statusCode, 200)
  t.match(right.json(), { contact_id: '460000000031013', decision: 'block', contact: { source: 'zoho' } })
  t.equal(sandbox.stats.byContact.get('460000000031013'), 2, 'the wrong answer was not cached')
  await app.history.flush()
  t.same(
    (await app.inject({ url: '/decisions', headers: auth(ADMIN) })).json().decisions.map((d: { contact_id: string }) => d.contact_id),
    ['460000000031013'],
    'nothing was decided on the wrong contact',
  )
})

/** Opens `n` connections that each send the head of a request with a large body, then drip it a byte every 100 ms. */
async function drips(port: number, n: number, head: string): Promise<{ closed: Promise<string[]>; stop(): void }> {
  const sockets: Socket[] = []
  const answers: Promise<string>[] = []
  for (let i = 0; i < n; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk
    })
    answers.push(new Promise((resolve) => socket.on('close', () => resolve(answer))))
    socket.write(`${head}Content-Length: 10000\r\n\r\n{`)
    sockets.push(socket)
  }
  const timer = setInterval(() => {
    for (const socket of sockets) if (socket.writable) socket.write(' ')
  }, 100)
  const stop = () => {
    clearInterval(timer)
    for (const socket of sockets) socket.destroy()
  }
  return { closed: Promise.all(answers), stop }
}

t.test('5. 300 clients dripping a body are closed: at once after an early 4xx, within the request timeout otherwise', async (t) => {
  const sandbox = await startSandbox(t)
  const config = loadConfig(sandboxEnv(sandbox, KEYS))
  const requestTimeoutMs = 2000
  const app = await buildServer(config, { requestTimeoutMs })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const head = (key: string) =>
    `POST /contacts/460000000031001/risk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n`

  // A valid key: the body is waited for, up to the request timeout.
  const slow = await drips(port, 300, head(SHOP))
  t.teardown(slow.stop)
  const timed = await Promise.race([
    slow.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connections still open after 10 s')), 10_000)),
  ])
  t.ok(
    timed.every((a) => /^HTTP\/1\.1 408 /.test(a)),
    `each answered 408 request_timeout after ${requestTimeoutMs} ms and closed`,
  )
  // A refused key (then, for this address, too many refused keys): answered before the body.
  const refused = await drips(port, 300, head('a-wrong-key-0123456789'))
  t.teardown(refused.stop)
  const started = performance.now()
  const answers = await Promise.race([
    refused.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connections still open after 10 s')), 10_000)),
  ])
  t.comment(`300 refused drips closed in ${Math.round(performance.now() - started)} ms`)
  t.ok(
    answers.every((a) => /^HTTP\/1\.1 (401|429) /.test(a) && /\r\nconnection: close\r\n/i.test(a)),
    'each answered 401 (or 429 once the address is throttled) and closed',
  )

  t.equal(sandbox.stats.contactCalls, 0, 'no body arrived: nothing was decided')
})

t.test('6. the same key name as a caller and an admin is refused at start-up; the default deployment starts', async (t) => {
  const env = { ...process.env, PORT: '0', API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: `ops:${ADMIN},shop:another-key-0123456789` }
  // A server that starts (and listens) instead is stopped after 20 s: the test then fails.
  const run = spawnSync(process.execPath, ['dist/server.js'], { env, encoding: 'utf8', timeout: 20_000 })
  t.equal(run.status, 1)
  t.equal(
    run.stderr,
    'creditgate: invalid configuration: ADMIN_API_KEYS the name "shop" is also in API_KEYS; every key needs a name of its own\n',
  )
  t.ok(loadConfig(KEYS), 'one caller key and one admin key, as documented')
})

t.test('7. HEAD on the decision route decides nothing, records nothing and asks Zoho nothing', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  const head = await app.inject({ method: 'HEAD', url: '/contacts/460000000031001/risk', headers: auth(SHOP) })
  t.equal(head.statusCode, 405)
  t.equal(head.headers.allow, 'GET, POST')
  await app.history.flush()
  t.equal(sandbox.stats.contactCalls, 0)
  t.same((await app.inject({ url: '/decisions', headers: auth(ADMIN) })).json().decisions, [])
  t.equal(await metric(app, 'creditgate_decisions_total{decision="allow"}'), 0)
})

t.test('8. an order 0.005 over the remaining credit is blocked; exactly the remaining credit is allowed', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  // Credit limit 40,000 with 38,000 outstanding: 2,000 remain.
  const get = async (amount: string) =>
    (await app.inject({ url: `/contacts/460000000031004/risk?order_amount=${amount}`, headers: auth(SHOP) })).json()
  const over = await get('2000.005')
  t.equal(over.decision, 'block')
  t.same(
    over.reasons.map((r: { code: string }) => r.code),
    ['CREDIT_LIMIT_EXCEEDED'],
  )
  t.equal(over.facts.exposure_bcy, 40000.005)
  t.equal(over.facts.exposure_with_orders_bcy, 40000.005)
  t.match(over.reasons[0].message, /^Exposure 40,000\.01 /)
  t.equal((await get('2000')).decision, 'allow')
  const post = await app.inject({
    method: 'POST',
    url: '/contacts/460000000031004/risk',
    headers: auth(SHOP),
    payload: { order: { amount: 2000.0001 } },
  })
  t.equal(post.json().decision, 'block', '0.0001 over, sent as JSON')
  const dryRun = await app.inject({
    method: 'POST',
    url: '/risk/evaluate',
    headers: auth(ADMIN),
    payload: { contact: { outstanding_receivable_amount_bcy: 38000.1, credit_limit: 40000 }, order: { amount: 1999.905 } },
  })
  t.equal(dryRun.json().decision, 'block', '38,000.10 + 1,999.905 is 40,000.005, over 40,000')
  t.equal(dryRun.json().facts.available_credit_bcy, 1999.9)
})

t.test('9. README and code agree: one backtest runs, two may wait, the next is 429', async (t) => {
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

t.test('9. README and code agree: JSON answers and the console may not be framed, pages only by themselves', async (t) => {
  const readme = await (await import('node:fs/promises')).readFile('README.md', 'utf8')
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  for (const url of ['/healthz', '/console']) {
    const res = await app.inject({ url })
    t.equal(res.headers['x-frame-options'], 'DENY', url)
    t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/, url)
  }
  t.equal((await app.inject({ url: '/problems' })).headers['x-frame-options'], 'SAMEORIGIN', 'pages: helmet’s own')
  t.match(readme, /JSON answers get [^.]*`X-Frame-Options: DENY`/)
  t.match(readme, /pages \(Swagger UI, `\/problems`\) get helmet's\sfull set \(`X-Frame-Options: SAMEORIGIN`\)/)
  t.match(readme, /the console a stricter one \(no inline style either\) with `X-Frame-Options: DENY`/)
})
