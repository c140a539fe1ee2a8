import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { contactOnlyRules, eventually, ORG, ORG2, startApp, startSandbox, type TestApp } from '../helpers/app.js'
import { organizationsFile, throwsOneLine } from '../helpers/organizations-file.js'
import { startRedis } from '../helpers/redis.js'

/**
 * Each organization is its own Zoho budget (issue 27): ORGANIZATIONS_FILE's
 * zoho_requests_per_minute and zoho_max_concurrency, counted per organization in process and
 * across instances through Redis. The sandbox counts what Zoho receives, per contact id.
 */

t.setTimeout(240_000)

const ALLOWED = { ZOHO_ORGANIZATION_ID: ORG, ZOHO_ORGANIZATION_IDS: `${ORG},${ORG2}` }

t.test('a bad budget in the file stops start-up with one line naming the entry', async (t) => {
  const cases: [unknown, Record<string, string>, RegExp][] = [
    [
      [{ organization_id: ORG }, { organization_id: ORG2, zoho_requests_per_minute: 101 }],
      {},
      /^invalid configuration: ORGANIZATIONS_FILE organizations\[1\] \(10234696\) zoho_requests_per_minute: /,
    ],
    [[{ organization_id: ORG, zoho_requests_per_minute: 0 }], {}, /organizations\[0\] \(10234695\) zoho_requests_per_minute: /],
    [[{ organization_id: ORG, zoho_requests_per_minute: 2.5 }], {}, /organizations\[0\] \(10234695\) zoho_requests_per_minute: /],
    [[{ organization_id: ORG2, zoho_max_concurrency: 11 }], {}, /organizations\[0\] \(10234696\) zoho_max_concurrency: /],
    [[{ organization_id: ORG2, zoho_max_concurrency: '4' }], {}, /organizations\[0\] \(10234696\) zoho_max_concurrency: /],
    [
      [{ organization_id: ORG2, zoho_requests_per_minute: 20 }],
      { ZOHO_CALLER_RESERVE: '20' },
      /^invalid configuration: ORGANIZATIONS_FILE organizations\[0\] \(10234696\) zoho_requests_per_minute: 20 leaves nothing above ZOHO_CALLER_RESERVE \(20\)/,
    ],
  ]
  for (const [organizations, env, message] of cases) {
    const file = await organizationsFile(t, { organizations })
    throwsOneLine(t, () => loadConfig({ ...ALLOWED, ...env, ORGANIZATIONS_FILE: file }), message)
  }
  const good = loadConfig({
    ...ALLOWED,
    ORGANIZATIONS_FILE: await organizationsFile(t, {
      organizations: [{ organization_id: ORG2, zoho_requests_per_minute: 20, zoho_max_concurrency: 2 }],
    }),
  })
  t.same(good.organizations, [{ organization_id: ORG2, zoho_requests_per_minute: 20, zoho_max_concurrency: 2 }])
})

/** n copies of a small contact in `org`, ids `prefix` + 13 digits. */
function addContactsTo(sandbox: Sandbox, org: string, n: number, prefix: string): string[] {
  const contacts = sandbox.organizations.get(org) as Map<string, Record<string, unknown>>
  const template = [...contacts.values()][0] as Record<string, unknown>
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}${String(i).padStart(13, '0')}`
    contacts.set(id, { ...template, contact_id: id, outstanding_receivable_amount_bcy: 100 })
    return id
  })
}

const KEY = 'shop-key-0123456789abcdef'
const ADMIN = 'ops-key-0123456789abcdef'
const ask = (app: TestApp['app'], org: string, id: string) =>
  app.inject({ url: `/contacts/${id}/risk?organization_id=${org}`, headers: { 'x-api-key': KEY } })

/** Instances on one sandbox (and one Redis for two), ORG with a budget of 6 calls a minute, ORG2 with the default 90. */
async function setup(t: Test, instances: 1 | 2, organizations: unknown, env: Record<string, string> = {}) {
  const sandbox = await startSandbox(t)
  const base = {
    ...ALLOWED,
    API_KEYS: `shop:${KEY}`,
    ADMIN_API_KEYS: `ops:${ADMIN}`,
    RATE_LIMIT_PER_MINUTE: '0',
    RULES_DIR: await contactOnlyRules(t),
    ORGANIZATIONS_FILE: await organizationsFile(t, { organizations }),
    ...env,
  }
  const redis = instances === 2 ? await startRedis(t) : undefined
  const apps: TestApp['app'][] = []
  for (let i = 0; i < instances; i++) {
    apps.push((await startApp(t, sandbox, { env: redis ? { ...base, REDIS_URL: redis.url } : base })).app)
  }
  // Both base currencies are read at start (one background call each): the minute's calls are then only the decisions'.
  await eventually(() => sandbox.stats.organizationCalls >= 2 * instances, 'the base currencies to be read', 20_000)
  return { sandbox, apps }
}

for (const instances of [1, 2] as const) {
  const mode = instances === 1 ? 'in process' : 'two instances sharing a Redis'
  t.test(`${mode}: the small organization's minute runs out while the other goes on`, async (t) => {
    const { sandbox, apps } = await setup(t, instances, [
      { organization_id: ORG, zoho_requests_per_minute: 6 },
      { organization_id: ORG2, name: 'Gulf' },
    ])
    const small = addContactsTo(sandbox, ORG, 12, '481')
    const large = addContactsTo(sandbox, ORG2, 12, '482')
    const answers = await Promise.all(small.map((id, i) => ask(apps[i % instances] as TestApp['app'], ORG, id)))
    const decided = answers.filter((r) => r.statusCode === 200).length
    const refused = answers.filter((r) => r.statusCode === 503 && r.json().code === 'upstream_unavailable')
    const calls = small.filter((id) => sandbox.stats.byContact.has(id)).length
    // Six calls a minute, one of them the base currency's read at start (per instance it is read once more).
    t.ok(calls <= 6 && calls >= 6 - instances, `ORG: ${calls} contact calls, within its budget of 6`)
    t.equal(decided, calls, 'each call decided one order')
    t.equal(refused.length, 12 - decided, 'the rest: 503 upstream_unavailable')
    t.match(refused[0]?.json().detail, /organization 10234695: the budget of 6 calls per minute is spent/)
    t.ok(Number(refused[0]?.headers['retry-after']) >= 1, 'with a Retry-After')

    const other = await Promise.all(large.map((id, i) => ask(apps[i % instances] as TestApp['app'], ORG2, id)))
    t.same(
      other.map((r) => r.statusCode),
      large.map(() => 200),
      'ORG2 decides all 12: its budget is its own',
    )
    t.notOk(sandbox.stats.byStatus.has(429), 'Zoho never answered 429')

    const usage = (await (apps[0] as TestApp['app']).inject({ url: '/zoho/budget', headers: { 'x-api-key': ADMIN } })).json()
    t.match(usage.organizations, [
      { organization_id: ORG, requests_per_minute: 6, max_concurrency: 8 },
      { organization_id: ORG2, requests_per_minute: 90, max_concurrency: 8 },
    ])
  })
}

t.test('two instances: concurrency per organization holds across them', async (t) => {
  const { sandbox, apps } = await setup(
    t,
    2,
    [
      { organization_id: ORG, zoho_max_concurrency: 2 },
      { organization_id: ORG2, zoho_max_concurrency: 4 },
    ],
    // Waiting for a slot lasts as long as a Zoho call may: the held calls are released well before.
    { ZOHO_TIMEOUT_MS: '30000' },
  )
  const small = addContactsTo(sandbox, ORG, 6, '483')
  const large = addContactsTo(sandbox, ORG2, 8, '484')
  const arrived = (ids: string[]) => ids.filter((id) => sandbox.stats.byContact.has(id)).length
  const release = sandbox.hold()
  const pending = [
    ...small.map((id, i) => ask(apps[i % 2] as TestApp['app'], ORG, id)),
    ...large.map((id, i) => ask(apps[i % 2] as TestApp['app'], ORG2, id)),
  ]
  await eventually(() => arrived(small) >= 2 && arrived(large) >= 4, 'both organizations to fill their slots', 20_000)
  t.equal(arrived(small), 2, 'ORG: 2 calls in flight across both instances, the rest wait')
  t.equal(arrived(large), 4, 'ORG2: 4 in flight')
  release()
  const answers = await Promise.all(pending)
  t.same(
    answers.map((r) => r.statusCode),
    answers.map(() => 200),
    'every waiting call went out once a slot freed',
  )
  t.equal(arrived(small) + arrived(large), 14)
})

t.test('two instances, two caller keys: the caller share keeps the reserve of the organization’s own budget', async (t) => {
  const POS = 'pos-key-0123456789abcdef'
  const { sandbox, apps } = await setup(
    t,
    2,
    [
      { organization_id: ORG, zoho_requests_per_minute: 8 },
      { organization_id: ORG2, name: 'Gulf' },
    ],
    { API_KEYS: `shop:${KEY},pos:${POS}` },
  )
  // B = 8, R = ⌈8 / 4⌉ = 2; the base currency's reads at start took 2 of the minute. A lone caller
  // may start calls while more than 2 are left, then only under its fair part ⌈8 / 2⌉ = 4: 4 calls.
  const ids = addContactsTo(sandbox, ORG, 10, '485')
  const answers = []
  for (const [i, id] of ids.entries()) answers.push(await ask(apps[i % 2] as TestApp['app'], ORG, id))
  const codes = answers.map((r) => (r.statusCode === 200 ? 200 : `${r.statusCode} ${r.json().code}`))
  t.same(codes, [200, 200, 200, 200, ...Array(6).fill('429 rate_limited')], 'the share refuses (429), not the spent budget (503)')
  t.equal(ids.filter((id) => sandbox.stats.byContact.has(id)).length, 4)
  // The second caller is served from the reserve the share kept for it.
  const pos = await apps[1]?.inject({ url: `/contacts/${ids[9]}/risk?organization_id=${ORG}`, headers: { 'x-api-key': POS } })
  t.equal(pos?.statusCode, 200, 'pos: served from the reserve')
})
