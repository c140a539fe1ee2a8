import t from 'tap'
import { createLocalHistory } from '../../src/adapters/local/history.js'
import { compareIds, DecisionRecordSchema, decisionTime, mergePages, newDecisionId, parseTime } from '../../src/domain/history.js'
import { SAMPLE_CONTACTS } from '../../src/sandbox/contacts.js'
import { eventually, ORG, problem, startApp, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

const KEYS = { shop: 'shop-key-0123456789abcdef', erp: 'erp-key-0123456789abcdef0', pos: 'pos-key-0123456789abcdef0' }
const ADMIN = 'admin-key-0123456789abcdef'
const ENV = {
  API_KEYS: Object.entries(KEYS)
    .map(([name, key]) => `${name}:${key}`)
    .join(','),
  ADMIN_API_KEYS: `ops:${ADMIN}`,
}
const CALLERS = Object.keys(KEYS) as (keyof typeof KEYS)[]
const CONTACTS = SAMPLE_CONTACTS.map((c) => c.id)
const auth = (key: string) => ({ authorization: `Bearer ${key}` })

type App = Awaited<ReturnType<typeof startApp>>['app']
type Made = { id: string; caller: keyof typeof KEYS; contact: string; decision: string }

/** `count` decisions, round robin over the callers and the sample contacts, each with an order. */
async function decide(t: { fail(message: string): void }, app: App, count: number, from = 0): Promise<Made[]> {
  const made: Made[] = []
  for (let i = from; i < from + count; i++) {
    const caller = CALLERS[i % CALLERS.length] as keyof typeof KEYS
    const contact = CONTACTS[i % CONTACTS.length] as string
    const res = await app.inject({
      method: 'POST',
      url: `/contacts/${contact}/risk`,
      headers: auth(KEYS[caller]),
      payload: { order: { amount: 100 + i, reference: `SO-${i}` } },
    })
    if (res.statusCode !== 200) t.fail(`decision ${i}: ${res.statusCode} ${res.body}`)
    const body = res.json()
    made.push({ id: body.decision_id, caller, contact, decision: body.decision })
  }
  return made
}

/** Every page of GET /decisions with the query, following next_cursor. */
async function listAll(app: App, query: string, limit: number) {
  const seen: Record<string, unknown>[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await app.inject({
      url: `/decisions?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      headers: auth(ADMIN),
    })
    if (res.statusCode !== 200) throw new Error(res.body)
    const page = res.json() as { decisions: Record<string, unknown>[]; next_cursor: string | null }
    if (page.decisions.length > limit) throw new Error('a page longer than the limit')
    seen.push(...page.decisions)
    cursor = page.next_cursor
    pages++
  } while (cursor && pages < 1000)
  return { decisions: seen, pages }
}

t.test(
  '3 callers, 300 decisions: each reads its own, 404 for the others; admin lists by contact and by decision, page by page',
  async (t) => {
    const sandbox = await startSandbox(t)
    const { app } = await startApp(t, sandbox, { env: ENV })
    const made = await decide(t, app, 300)
    await app.history.flush()

    for (const d of made) {
      const own = await app.inject({ url: `/decisions/${d.id}`, headers: auth(KEYS[d.caller]) })
      if (own.statusCode !== 200) t.fail(`${d.caller} cannot read its decision ${d.id}: ${own.statusCode}`)
      const record = own.json()
      if (record.caller !== d.caller || record.contact_id !== d.contact || record.decision !== d.decision)
        t.fail(`wrong record for ${d.id}`)
      for (const other of CALLERS.filter((c) => c !== d.caller)) {
        const res = await app.inject({ url: `/decisions/${d.id}`, headers: auth(KEYS[other]) })
        if (res.statusCode !== 404) t.fail(`${other} read ${d.caller}'s decision`)
      }
    }
    t.pass('every caller read its own 100 decisions and got 404 for the 200 others')

    const first = made[0] as Made
    const body = problem(t, await app.inject({ url: `/decisions/${first.id}`, headers: auth(KEYS.erp) }), 404, 'decision_not_found')
    const unknown = problem(
      t,
      await app.inject({ url: '/decisions/0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee', headers: auth(KEYS.erp) }),
      404,
      'decision_not_found',
    )
    t.equal(body.detail, unknown.detail, 'someone else’s decision and no decision look the same')
    problem(t, await app.inject({ url: `/decisions/${first.id}` }), 401, 'unauthorized')

    const asAdmin = await app.inject({ url: `/decisions/${first.id}`, headers: auth(ADMIN) })
    t.equal(asAdmin.statusCode, 200, 'an admin reads any decision')
    const record = asAdmin.json()
    t.ok(DecisionRecordSchema.safeParse(record).success, 'the record matches its schema')
    t.match(record, {
      decision_id: first.id,
      organization_id: ORG,
      contact_id: first.contact,
      caller: 'shop',
      order: { amount: 100, reference: 'SO-0' },
      facts: { contact_id: first.contact, outstanding_bcy: 62400, order_amount: 100 },
      rules_version: /^sha256:/,
      decision: 'block',
    })
    t.same(
      record.reasons.map((r: { code: string }) => r.code),
      ['OUTSTANDING_OVER_LIMIT'],
    )
    t.notOk('contact' in record.facts, 'no raw Zoho contact in the history, as in the log')

    problem(t, await app.inject({ url: '/decisions', headers: auth(KEYS.shop) }), 403, 'forbidden')

    const all = await listAll(app, '', 500)
    t.equal(all.decisions.length, 300, 'all 300 listed')
    t.same(
      all.decisions.map((d) => d.decision_id),
      [...made].reverse().map((d) => d.id),
      'newest first',
    )

    const contact = '460000000031008'
    const byContact = await listAll(app, `contact_id=${contact}`, 5)
    const expected = made.filter((d) => d.contact === contact)
    t.ok(expected.length > 10, 'more than two pages of them')
    t.same(
      byContact.decisions.map((d) => d.decision_id),
      expected.reverse().map((d) => d.id),
      'by contact: every one, newest first, across pages',
    )
    t.ok(byContact.pages >= 3)

    const blocks = await listAll(app, 'decision=block', 20)
    t.same(
      blocks.decisions.map((d) => d.decision_id),
      made
        .filter((d) => d.decision === 'block')
        .reverse()
        .map((d) => d.id),
      'by decision: every block, newest first, across pages',
    )
    const reviews = await listAll(app, `decision=review&contact_id=${made.find((d) => d.decision === 'review')?.contact}`, 3)
    t.ok(reviews.decisions.length > 0 && reviews.decisions.every((d) => d.decision === 'review'), 'both filters at once')

    const none = await listAll(app, `since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, 50)
    t.same(none.decisions, [], 'nothing since a minute from now')
    const recent = await listAll(app, 'since=1h&until=2099-01-01T00:00:00Z', 500)
    t.equal(recent.decisions.length, 300, 'all within the last hour')
    problem(t, await app.inject({ url: '/decisions?limit=0', headers: auth(ADMIN) }), 400, 'invalid_request')
    problem(t, await app.inject({ url: '/decisions?cursor=abc', headers: auth(ADMIN) }), 400, 'invalid_request')
    problem(t, await app.inject({ url: '/decisions?since=yesterday', headers: auth(ADMIN) }), 400, 'invalid_request')
  },
)

t.test('the in-process ring keeps DECISION_HISTORY_MAX decisions per organization', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...ENV, DECISION_HISTORY_MAX: '100' } })
  const made = await decide(t, app, 130)
  await app.history.flush()
  const all = await listAll(app, '', 500)
  t.same(
    all.decisions.map((d) => d.decision_id),
    made
      .slice(30)
      .reverse()
      .map((d) => d.id),
    'the newest 100',
  )
  t.equal((await app.inject({ url: `/decisions/${made[0]?.id}`, headers: auth(ADMIN) })).statusCode, 404, 'the oldest are gone')
  t.equal((await app.inject({ url: `/decisions/${made[30]?.id}`, headers: auth(ADMIN) })).statusCode, 200)
})

t.test('with Redis: a capped stream per organization; Redis killed mid-way → answers unaffected, decisions recorded locally', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...ENV, REDIS_URL: redis.url, DECISION_HISTORY_MAX: '100' } })
  await redis.client.connect()
  const key = `creditgate:v1:{${ORG}}:decisions`

  const before = await decide(t, app, 300)
  await app.history.flush()
  const length = await redis.client.xlen(key)
  t.ok(length >= 100 && length < 300, `the stream is capped near 100 (MAXLEN ~): ${length}`)
  const [newest] = (await redis.client.xrevrange(key, '+', '-', 'COUNT', 1)) as [string, string[]][]
  t.equal(newest?.[1][1], before[299]?.id, 'the newest entry is the last decision')
  t.match(
    newest?.[0],
    new RegExp(`^${Number.parseInt((before[299]?.id ?? '').replaceAll('-', '').slice(0, 12), 16)}-\\d+$`),
    'stored at the millisecond of its id',
  )
  const found = await app.inject({ url: `/decisions/${before[299]?.id}`, headers: auth(KEYS[before[299]?.caller ?? 'shop']) })
  t.equal(found.statusCode, 200, 'read back from Redis')
  t.equal(found.json().decision_id, before[299]?.id)
  const page = await listAll(app, '', 500)
  t.equal(page.decisions.length, length, 'the listing reads the stream')

  await redis.kill()
  await eventually(() => !app.shared.link?.up, 'the service to see Redis down')
  const during = await decide(t, app, 30, 300)
  t.equal(during.length, 30, 'every answer a 200 while Redis is down')
  await app.history.flush()
  for (const d of during) {
    const res = await app.inject({ url: `/decisions/${d.id}`, headers: auth(KEYS[d.caller]) })
    if (res.statusCode !== 200) t.fail(`decision ${d.id} made while Redis was down is not readable: ${res.statusCode}`)
  }
  t.pass('the decisions made while Redis was down are readable')
  const local = await listAll(app, '', 500)
  t.same(
    local.decisions.map((d) => d.decision_id),
    [...during].reverse().map((d) => d.id),
    'listed from the in-process ring while Redis is down',
  )

  await redis.start()
  await eventually(() => app.shared.link?.up === true, 'Redis back', 10_000)
  const after = await decide(t, app, 3, 330)
  await app.history.flush()
  const merged = await listAll(app, '', 500)
  t.same(
    merged.decisions.map((d) => d.decision_id),
    [...during, ...after].reverse().map((d) => d.id),
    'once back: the new Redis entries and those kept locally, newest first',
  )
})

t.test('the ring: positions only grow, ranges and cursors select what the stream would', async (t) => {
  const ring = createLocalHistory(100)
  const entry = (decisionId: string, atMs: number, json: string) => ({ decisionId, atMs, contactId: '1', decision: 'allow', json })
  for (let i = 0; i < 150; i++) await ring.append(ORG, entry(`d${i}`, 1000 + Math.floor(i / 2), `{"i":${i}}`))
  await ring.append(ORG, entry('late', 500, '{"i":"late"}'))
  t.equal(ring.size(ORG), 100)
  const ids = async (range: Parameters<typeof ring.page>[1], count = 500) => (await ring.page(ORG, range, count)).map((e) => e.id)
  t.same(await ids({}, 3), ['1074-2', '1074-1', '1074-0'], 'a decision made before the newest is placed after it')
  t.equal(await ring.find(ORG, 'late', 500), '{"i":"late"}')
  t.equal(await ring.find(ORG, 'd0', 1000), undefined, 'overwritten')
  t.same(await ids({ before: '1074-1' }, 2), ['1074-0', '1073-1'])
  t.same(await ids({ before: '1074-1', inclusive: true }, 2), ['1074-1', '1074-0'])
  t.same(await ids({ untilMs: 1060, sinceMs: 1059 }), ['1060-1', '1060-0', '1059-1', '1059-0'])
  t.same(await ids({ sinceMs: 2000 }), [])
  t.same(await ids({ untilMs: 10 }), [], 'older than anything kept')
  t.same(await ring.page('999', {}, 10), [], 'an organization with no decisions')
  t.equal(compareIds('1000-10', '1000-9') > 0, true, 'sequence numbers compare as numbers')
  t.same(
    mergePages(
      [
        { id: '5-0', json: Buffer.from('a') },
        { id: '3-0', json: Buffer.from('b') },
      ],
      [{ id: '4-0', json: Buffer.from('c') }],
      2,
    ).map((e) => e.json.toString()),
    ['a', 'c'],
  )
  t.equal(parseTime('24h', 100_000_000), 100_000_000 - 86_400_000)
  t.equal(parseTime('2026-11-25T12:00:00Z', 0), Date.UTC(2026, 10, 25, 12))
  t.equal(parseTime('soon', 0), undefined)
  t.equal(decisionTime(newDecisionId(1_764_000_000_123)), 1_764_000_000_123)
  t.equal(decisionTime('0f8c2a4e-5b1d-4c7a-9e3f-2d6b8a1c4e70'), undefined, 'a version-4 id is not one of ours')
})
