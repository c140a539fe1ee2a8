import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { SAMPLE_CONTACTS, zohoContact } from '../../src/sandbox/contacts.js'
import { eventually, ORG, problem, SHIPPED_RULES, startApp, startSandbox } from '../helpers/app.js'

const ADMIN = 'admin-key-0123456789abcdef'
const admin = { authorization: `Bearer ${ADMIN}` }
const CONTACTS = SAMPLE_CONTACTS.map((c) => c.id)

/** A copy of the shipped rules folder (rules and fixtures), with `change` applied to the threshold rule. */
async function rulesFolder(t: Test, threshold?: number) {
  const files: Record<string, string> = {}
  const tests: Record<string, string> = {}
  for (const name of SHIPPED_RULES) {
    const rule = JSON.parse(await readFile(`rules/${name}.json`, 'utf8'))
    if (name === 'outstanding-over-50000' && threshold !== undefined) rule.conditions.all[0].value = threshold
    files[`${name}.json`] = JSON.stringify(rule)
    tests[`${name}.json`] = await readFile(`rules/tests/${name}.json`, 'utf8')
  }
  // Cases that pin the 50,000 threshold (amounts between 40,000 and 50,000 allowed) go with it.
  if (threshold !== undefined) for (const name of ['outstanding-over-50000.json', 'credit-limit-exceeded.json']) delete tests[name]
  return t.testdir({ ...files, tests })
}

type App = Awaited<ReturnType<typeof startApp>>['app']
const summary = async (app: App) => (await app.inject({ url: '/rules/shadow', headers: admin })).json()
const shadowMetrics = async (app: App) => {
  const text = (await app.inject({ url: '/metrics' })).body
  const counts: Record<string, number> = {}
  for (const m of text.matchAll(/^creditgate_shadow_decisions_total\{live="(\w+)",shadow="(\w+)"\} (\d+)$/gm))
    counts[`${m[1]}>${m[2]}`] = Number(m[3])
  return counts
}

async function decideAll(t: { equal(a: unknown, b: unknown): void }, app: App, contacts: readonly string[]) {
  const decided: Record<string, number> = {}
  for (const contact of contacts) {
    const res = await app.inject({ url: `/contacts/${contact}/risk`, headers: admin })
    t.equal(res.statusCode, 200)
    const { decision } = res.json()
    decided[decision] = (decided[decision] ?? 0) + 1
  }
  return decided
}

t.test('without RULES_SHADOW_DIR: not configured, metrics at zero', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN}` } })
  t.match(await summary(app), { configured: false, version: null, evaluated: 0, last_error: null })
  const counts = await shadowMetrics(app)
  t.equal(Object.keys(counts).length, 9, 'every live × shadow pair present from the start')
  t.ok(Object.values(counts).every((n) => n === 0))
  problem(t, await app.inject({ url: '/rules/shadow' }), 401, 'unauthorized')
})

t.test('an identical shadow set: every count on the diagonal', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN}`, RULES_SHADOW_DIR: await rulesFolder(t) } })
  const live = (await app.inject({ url: '/rules', headers: admin })).json()
  const decided = await decideAll(t, app, [...CONTACTS, ...CONTACTS])
  await eventually(async () => (await summary(app)).evaluated === CONTACTS.length * 2, 'every decision shadowed')
  const s = await summary(app)
  t.match(s, { configured: true, version: live.version, changed: 0, not_comparable: 0, last_error: null })
  t.same(s.matrix, {
    allow: { allow: decided.allow ?? 0, review: 0, block: 0 },
    review: { allow: 0, review: decided.review ?? 0, block: 0 },
    block: { allow: 0, review: 0, block: decided.block ?? 0 },
  })
  t.same(s.examples, [])
  t.ok(s.rules.every((r: { fired_before: number; fired_after: number }) => r.fired_before === r.fired_after))
  const counts = await shadowMetrics(app)
  for (const d of ['allow', 'review', 'block']) t.equal(counts[`${d}>${d}`], decided[d] ?? 0, `metrics ${d} × ${d}`)
  t.equal(counts['allow>block'], 0)
})

t.test('a stricter shadow set: the expected off-diagonal counts, answers unchanged', async (t) => {
  const sandbox = await startSandbox(t)
  const contacts = sandbox.organizations.get(ORG) as Map<string, Record<string, unknown>>
  contacts.set('460000000041002', zohoContact('460000000041002', 'Owes 45,000', { outstanding_receivable_amount_bcy: 45000 }))
  const shadowDir = await rulesFolder(t, 40000)
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN}`, RULES_SHADOW_DIR: shadowDir } })
  t.match(await summary(app), { version: /^sha256:/, last_error: null }, 'the stricter set loaded')
  const ids = [...CONTACTS, '460000000041002']
  const decided = await decideAll(t, app, ids)
  // Live: Indigo Apparel (exactly 50,000.00) and the 45,000 contact are allowed; the shadow set blocks both.
  const flip = await app.inject({ url: '/contacts/460000000031008/risk', headers: admin })
  t.equal(flip.json().decision, 'allow', 'the live answer is the live set’s')
  await eventually(async () => (await summary(app)).evaluated === ids.length + 1, 'every decision shadowed')
  const s = await summary(app)
  t.equal(s.changed, 3)
  t.same(s.matrix.allow, { allow: (decided.allow ?? 0) + 1 - 3, review: 0, block: 3 })
  t.same(s.matrix.review, { allow: 0, review: decided.review ?? 0, block: 0 })
  t.same(s.matrix.block, { allow: 0, review: 0, block: decided.block ?? 0 })
  t.same(
    s.examples.map((e: { contact_id: string }) => e.contact_id),
    ['460000000031008', '460000000041002', '460000000031008'],
  )
  t.match(s.examples[0], { before: 'allow', after: 'block' })
  t.same(
    s.examples[0].reasons_after.map((r: { code: string }) => r.code),
    ['OUTSTANDING_OVER_LIMIT'],
  )
  const counts = await shadowMetrics(app)
  t.equal(counts['allow>block'], 3)
  t.equal(counts['allow>allow'], (decided.allow ?? 0) + 1 - 3)
})

t.test('a broken shadow file: live unaffected, GET /rules/shadow shows the error; fixed, it loads', async (t) => {
  const sandbox = await startSandbox(t)
  const shadowDir = await rulesFolder(t)
  await writeFile(join(shadowDir, 'broken.json'), '{"name": "broken", "conditions": ')
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN}`, RULES_SHADOW_DIR: shadowDir } })
  const s = await summary(app)
  t.match(s, {
    configured: true,
    version: null,
    evaluated: 0,
    last_error: { trigger: 'start' },
  })
  t.same(
    s.last_error.errors.map((e: { file: string; path: string }) => [e.file, e.path]),
    [['broken.json', '$']],
  )
  const rules = (await app.inject({ url: '/rules', headers: admin })).json()
  t.equal(rules.last_error, null, 'the live set knows nothing of it')
  t.equal((await app.inject({ url: '/readyz' })).json().status, 'ready', 'ready, not degraded')
  const res = await app.inject({ url: '/contacts/460000000026049/risk', headers: admin })
  t.equal(res.statusCode, 200)
  t.equal(res.json().decision, 'block', 'live decisions as ever')
  await app.history.flush()
  t.equal((await summary(app)).evaluated, 0, 'nothing shadowed without a shadow set')

  // Fixed: hot-reloaded, and shadowing starts.
  const never = {
    name: 'never',
    conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 1e12 }] },
    event: { type: 'review', params: { code: 'NEVER', message: 'never' } },
  }
  await writeFile(join(shadowDir, 'broken.json'), JSON.stringify(never))
  await eventually(async () => (await summary(app)).version !== null, 'the fixed shadow set to load', 10_000)
  t.equal((await summary(app)).last_error, null)
  await decideAll(t, app, ['460000000026049'])
  await eventually(async () => (await summary(app)).evaluated === 1, 'the next decision shadowed')

  // Broken again: the last good shadow set stays, with the error beside it.
  await writeFile(join(shadowDir, 'broken.json'), '[]')
  await eventually(async () => (await summary(app)).last_error !== null, 'the change to be refused', 10_000)
  const after = await summary(app)
  t.not(after.version, null, 'the last good shadow set stays loaded')
  t.equal(after.last_error.errors[0].file, 'broken.json')
  t.equal((await app.inject({ url: '/contacts/460000000031001/risk', headers: admin })).json().decision, 'allow')
})
