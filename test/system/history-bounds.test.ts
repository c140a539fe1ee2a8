import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import { createLocalHistory } from '../../src/adapters/local/history.js'
import { historyKey, indexKey } from '../../src/adapters/redis/history.js'
import { parseContact } from '../../src/domain/contact.js'
import { buildFacts } from '../../src/domain/facts.js'
import { boundRecord, type DecisionRecord, DecisionRecordSchema, newDecisionId, RECORD_BOUNDS } from '../../src/domain/history.js'
import { customFieldsRead } from '../../src/rules/rule-set.js'
import { zohoContact } from '../../src/sandbox/contacts.js'
import { createHistoryService, type HistoryStore, LIST_BOUNDS } from '../../src/services/history.js'
import { lacksFacts } from '../../src/services/rule-sets/compare.js'
import {
  contactOnlyRules,
  eventually,
  metricValue as metric,
  ORG,
  parseMetrics,
  problem,
  sandboxEnv,
  startApp,
  startBuiltService,
  startSandbox,
} from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { ruleSetOf } from '../helpers/rules.js'

/**
 * The decision history under load and hostile data (issue 31), one test per finding: each failed
 * before the fix. Decisions stay findable by their id whatever the load, records and pages are
 * bounded and never stall the service, times and cursors cannot make invalid stream ids, and a
 * Redis reply refusing a command is not an outage. The other findings of issue 31 are in the files of
 * their features (api, http-responses, config-startup, backtest).
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
  /** The facts a decision records for a contact with these custom fields (and name). */
  const facts = (customFields: Record<string, string>, name = 'Name'): DecisionRecord['facts'] => {
    const custom_fields = Object.entries(customFields).map(([api_name, value]) => ({ api_name, value }))
    const parsed = parseContact(zohoContact('1', name, { custom_fields }))
    if (!parsed.ok) throw new Error(parsed.problem)
    const { contact: _, ...recorded } = buildFacts(parsed.contact, undefined, 0)
    return recorded
  }
  const fields = (n: number, length: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`cf_${i}`, 'v'.repeat(length)]))
  const none = new Set<string>()
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
  const wide = parse({ ...base, facts: facts(fields(40, 1000)) }, new Set(fourteen))
  t.same(Object.keys(wide.record.facts?.custom_fields ?? {}), fourteen, 'over the size: only the fields the rules read, whole')
  t.equal(String(wide.record.facts?.custom_fields.cf_13).length, 1000)
  t.same(wide.cut, { custom_fields: 26, texts: 0, reasons: 0 })

  const all = parse({ ...base, facts: facts(fields(40, 1000)) }, new Set(Object.keys(fields(40, 1))))
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

t.test('2. which custom fields the rules read, and a backtest of a field a record left out', async (t) => {
  const hold = ruleSetOf([
    {
      name: 'hold',
      conditions: { all: [{ fact: 'custom_fields', path: '$.cf_hold', operator: 'equal', value: 'On' }] },
      type: 'block',
      code: 'HOLD',
      message: 'on hold',
    },
  ])
  t.same(customFieldsRead(hold, undefined), new Set(['cf_hold']))
  const facts = (fields: Record<string, string>) => ({ custom_fields: fields })
  t.equal(lacksFacts(hold, facts({})), false, 'nothing cut: an absent field is absent')
  t.equal(lacksFacts(hold, facts({}), { custom_fields: 3 }), true, 'fields cut: an absent field is unknown')
  t.equal(lacksFacts(hold, facts({ cf_hold: 'On' }), { custom_fields: 3 }), false, 'the field it reads was kept')
})

t.test('2. a list request is bounded in bytes and in what it looks at; its cursor goes on from there', async (t) => {
  const store = createLocalHistory(20_000)
  const history = createHistoryService({ store, organizations: () => [ORG], log: pino({ level: 'silent' }) })
  const big = 'x'.repeat(15_000)
  for (let i = 0; i < 1200; i++) {
    await store.append(ORG, { decisionId: `a${i}`, atMs: 1000 + i, contactId: '1', decision: 'allow', json: JSON.stringify({ i, big }) })
  }
  const page = await history.list({ limit: 500 })
  const bytes = page.decisions.reduce((n, d) => n + d.length + 1, 0)
  t.ok(bytes <= LIST_BOUNDS.pageBytes, `${page.decisions.length} records, ${bytes} bytes`)
  t.ok(bytes > LIST_BOUNDS.pageBytes - 16_000, 'as many as fit')
  const next = await history.list({ limit: 500, cursor: page.next_cursor ?? '' })
  t.equal(JSON.parse(next.decisions[0]?.toString() ?? '{}').i, 1199 - page.decisions.length, 'the next page goes on from there')
  const rare = await history.list({ limit: 50, contact_id: '2' })
  t.same(rare.decisions, [], 'a filter nothing matches')
  t.ok(rare.next_cursor, `stops after ${LIST_BOUNDS.scannedBytes} bytes looked at, with a cursor`)

  const small = createLocalHistory(20_000)
  for (let i = 0; i < LIST_BOUNDS.scanned + 50; i++) {
    await small.append(ORG, { decisionId: `s${i}`, atMs: 1000 + i, contactId: '1', decision: 'allow', json: '{}' })
  }
  const scan = createHistoryService({ store: small, organizations: () => [ORG], log: pino({ level: 'silent' }) })
  const first = await scan.list({ limit: 50, decision: 'block' })
  t.same(first.decisions, [])
  t.match(first.next_cursor, /^1050-0\./, `stops after ${LIST_BOUNDS.scanned} entries looked at, with a cursor`)
  t.same(await scan.list({ limit: 50, decision: 'block', cursor: first.next_cursor ?? '' }), { decisions: [], next_cursor: null })

  // Entries recorded before contact and outcome were kept beside them: their records are read.
  const legacy: HistoryStore = {
    append: async () => {},
    find: async () => 'not JSON',
    page: async (_org, range) =>
      range.before
        ? []
        : [
            { id: '3-0', json: Buffer.from('{"contact_id":"1","decision":"allow","caller":"shop"}') },
            { id: '2-0', json: Buffer.from('not JSON') },
            { id: '1-0', json: Buffer.alloc(0) },
          ],
  }
  const old = createHistoryService({ store: legacy, organizations: () => [ORG], log: pino({ level: 'silent' }) })
  const listed = await old.list({ limit: 10, contact_id: '1' })
  t.same(
    listed.decisions.map((d) => d.toString()),
    ['{"contact_id":"1","decision":"allow","caller":"shop"}'],
    'what cannot be read is passed over',
  )
  t.equal(await old.get(newDecisionId(Date.now())), undefined, 'a record that cannot be read is not found')
})

/** The service's /metrics, by series. */
const scrape = async (base: string) => parseMetrics(await (await fetch(`${base}/metrics`)).text())

t.test('2. four parallel pages of the largest records: /healthz answers, Redis stays up, the event loop never stalls', async (t) => {
  // The built service in a process of its own, as in production (the test runner's coverage
  // instrumentation slows what runs inside it several times over). Its event-loop delay is measured
  // inside it: prom-client's monitorEventLoopDelay, reset at every scrape of /metrics.
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  sandbox.organizations.get(ORG)?.set('460000000099001', zohoContact('460000000099001', 'Notes Ltd', { custom_fields: notes(21) }))
  const base = await startBuiltService(t, { ...sandboxEnv(sandbox, { ...KEYS, RULES_DIR: await notesRules(t) }), REDIS_URL: redis.url })
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
