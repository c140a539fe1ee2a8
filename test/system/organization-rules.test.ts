import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { backtest as backtestCommand, main } from '../../src/cli/rules.js'
import { zohoContact } from '../../src/sandbox/example-contact.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { RulesStartupError } from '../../src/services/rule-sets/manager.js'
import { eventually, ORG, ORG2, problem, startApp, startSandbox } from '../helpers/app.js'

/**
 * Rules per organization (issue 27): RULES_DIR/<organization_id>/ decides for that organization
 * instead of the shared set, includes shared files only through its extends.json, and is
 * validated, fixture-gated, reloaded, versioned, shadowed and backtested on its own.
 */

const ADMIN = 'ops:admin-key-0123456789abcdef'
const admin = { authorization: 'Bearer admin-key-0123456789abcdef' }

/** ORG's own set: block over 20,000 outstanding, and the shared inactive-contact rule by extends.json. */
const OWN_RULE = {
  name: 'outstanding-over-20000',
  priority: 10,
  conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 20000 }] },
  event: {
    type: 'block',
    params: { code: 'OUTSTANDING_OVER_LIMIT', message: 'Outstanding receivables {{outstanding_bcy}} exceed 20,000.00' },
  },
}
const OWN_FIXTURES = {
  cases: [
    { name: '20,000.00 is not over', contact: { outstanding_receivable_amount_bcy: 20000 }, expect: { decision: 'allow', reasons: [] } },
    { name: '30,000.00 is over', contact: { outstanding_receivable_amount_bcy: 30000 }, expect: { decision: 'block' } },
    {
      name: 'inactive, from the shared set',
      contact: { status: 'inactive' },
      expect: { decision: 'block', reasons: ['CONTACT_INACTIVE'] },
    },
  ],
}

interface Teardown {
  teardown(fn: () => unknown): void
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

/** The shipped rules (fixtures too) as the shared set, and ORG's folder beside them. */
async function rulesFolder(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'creditgate-rules-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await cp('rules', dir, { recursive: true })
  // Without the payment-facts rule: its pass would make Zoho calls these tests do not count.
  await rm(join(dir, 'pays-late.json'))
  await rm(join(dir, 'tests', 'pays-late.json'))
  // The sandbox's second organization's folder: these tests make their own.
  await rm(join(dir, ORG2), { recursive: true, force: true })
  await mkdir(join(dir, ORG, 'tests'), { recursive: true })
  await writeFile(join(dir, ORG, 'outstanding-over-20000.json'), json(OWN_RULE))
  await writeFile(join(dir, ORG, 'extends.json'), json({ extends: ['inactive-contact.json'] }))
  await writeFile(join(dir, ORG, 'tests', 'own.json'), json(OWN_FIXTURES))
  return dir
}

/** The same customer, owing 30,000, in both organizations. */
const CUSTOMER = '480000000000001'
function sameCustomerInBoth(sandbox: Sandbox) {
  for (const org of [ORG, ORG2]) {
    sandbox.organizations.get(org)?.set(CUSTOMER, zohoContact(CUSTOMER, 'Same Customer', { outstanding_receivable_amount_bcy: 30000 }))
  }
}

t.test('each organization is decided by its own set; one without a folder by the shared set', async (t) => {
  const dir = await rulesFolder(t)
  const sandbox = await startSandbox(t)
  sameCustomerInBoth(sandbox)
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, ADMIN_API_KEYS: ADMIN } })
  const decide = async (org: string) =>
    (await app.inject({ url: `/contacts/${CUSTOMER}/risk?organization_id=${org}&order_amount=100` })).json()
  const [own, shared] = [await decide(ORG), await decide(ORG2)]
  t.same([own.decision, own.reasons.map((r: { rule: string }) => r.rule)], ['block', ['outstanding-over-20000']])
  t.equal(shared.decision, 'allow', 'the shared set blocks only over 50,000')
  t.not(own.rules_version, shared.rules_version, 'each organization has its own rules_version')
  t.equal(own.rules_version, app.rules.for(ORG).current().version)
  t.equal(shared.rules_version, app.rules.current().version)

  const status = (await app.inject({ url: `/rules?organization_id=${ORG}` })).json()
  t.same(
    status.rules.map((r: { file: string }) => r.file),
    ['outstanding-over-20000.json', '../inactive-contact.json'],
    'its own files, and the shared file it names in extends.json: nothing else of the shared set',
  )
  t.same([status.organization_id, status.own, status.fixtures.passed], [ORG, true, 3])
  // Each organization's set; the console's fields (name, base_currency, default) beside them.
  t.match(status.organizations, [
    { organization_id: ORG, own: true, version: own.rules_version },
    { organization_id: ORG2, own: false, version: shared.rules_version },
  ])
  t.equal(status.organizations.length, 2)
  const sharedStatus = (await app.inject({ url: '/rules' })).json()
  t.same([sharedStatus.organization_id, sharedStatus.own, sharedStatus.version], [null, false, shared.rules_version])
  t.equal((await app.inject({ url: `/rules?organization_id=${ORG2}` })).json().version, shared.rules_version)
  problem(t, await app.inject({ url: '/rules?organization_id=99999' }), 403, 'forbidden')

  // A dry run takes the organization too.
  const dry = async (org: string) =>
    (
      await app.inject({
        method: 'POST',
        url: '/risk/evaluate',
        headers: admin,
        payload: { organization_id: org, contact: { outstanding_receivable_amount_bcy: 30000 } },
      })
    ).json()
  t.same([(await dry(ORG)).decision, (await dry(ORG2)).decision], ['block', 'allow'])
})

t.test('a broken file in one organization’s folder leaves every set active and is reported for that organization only', async (t) => {
  const dir = await rulesFolder(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, ADMIN_API_KEYS: ADMIN } })
  const before = { own: app.rules.for(ORG).current().version, shared: app.rules.current().version }
  await writeFile(join(dir, ORG, 'outstanding-over-20000.json'), '{ "name": "outstanding-over-20000", ')
  await eventually(() => app.rules.for(ORG).lastError !== undefined, 'the change in the organization’s folder to be rejected')
  t.same([app.rules.for(ORG).current().version, app.rules.current().version], [before.own, before.shared], 'both sets stay active')
  const own = (await app.inject({ url: `/rules?organization_id=${ORG}` })).json()
  t.equal(own.last_error.errors[0].file, 'outstanding-over-20000.json')
  t.equal((await app.inject({ url: '/rules' })).json().last_error, null, 'the shared set reports nothing')
  t.equal((await app.inject({ url: `/rules?organization_id=${ORG2}` })).json().last_error, null, 'nor the other organization')
  t.match((await app.inject({ url: '/readyz' })).json(), { checks: { rules: { detail: new RegExp(`rejected for organization ${ORG}`) } } })

  // The shared set still reloads meanwhile.
  const file = join(dir, 'outstanding-over-50000.json')
  await writeFile(file, (await readFile(file, 'utf8')).replace('"value": 50000', '"value": 40000'))
  await rm(join(dir, 'tests'), { recursive: true })
  t.match((await app.inject({ method: 'POST', url: '/rules/reload', headers: admin })).json().result, /^(activated|unchanged)$/)
  await eventually(() => app.rules.current().version !== before.shared, 'the shared change to go live')
  t.equal(app.rules.for(ORG).current().version, before.own, 'the organization keeps its last good set')
  t.equal(app.rules.for(ORG2).current().version, app.rules.current().version, 'the other organization follows the shared set')
  t.ok(app.rules.for(ORG).lastError, 'still reported for the broken organization')

  // A fixture of the organization's failing is refused the same way, for it alone.
  await writeFile(
    join(dir, ORG, 'outstanding-over-20000.json'),
    json({ ...OWN_RULE, conditions: { all: [{ ...OWN_RULE.conditions.all[0], value: 35000 }] } }),
  )
  const reload = (await app.inject({ method: 'POST', url: `/rules/reload?organization_id=${ORG}`, headers: admin })).json()
  t.same([reload.result, reload.version], ['rejected', before.own])
  t.match(reload.errors, [{ file: 'tests/own.json', path: 'case "30,000.00 is over"' }])
  // Fixed: the organization's set is activated, with a new version.
  await writeFile(join(dir, ORG, 'outstanding-over-20000.json'), json({ ...OWN_RULE, priority: 20 }))
  await eventually(() => app.rules.for(ORG).current().version !== before.own, 'the fixed set to go live')
  t.equal(app.rules.for(ORG).lastError, undefined)
})

t.test('an organization’s set must be valid at start-up, and extends.json names only shared files', async (t) => {
  const sandbox = await startSandbox(t)
  const failing = await rulesFolder(t)
  await writeFile(join(failing, ORG, 'tests', 'own.json'), json({ cases: [{ name: 'wrong', contact: {}, expect: { decision: 'block' } }] }))
  await t.rejects(startApp(t, sandbox, { env: { RULES_DIR: failing } }), RulesStartupError)
  await t.rejects(startApp(t, sandbox, { env: { RULES_DIR: failing } }), new RegExp(`invalid rules in ${join(failing, ORG)}`))

  const missing = await rulesFolder(t)
  await writeFile(join(missing, ORG, 'extends.json'), json({ extends: ['no-such-rule.json'] }))
  await t.rejects(
    startApp(t, sandbox, { env: { RULES_DIR: missing } }),
    /extends.json \$\.extends\[0\]: no-such-rule.json is not a rule file of the shared set/,
  )
  const twice = await rulesFolder(t)
  await writeFile(join(twice, ORG, 'extends.json'), json({ extends: ['outstanding-over-20000.json'] }))
  await t.rejects(startApp(t, sandbox, { env: { RULES_DIR: twice } }), /is also a file of this folder/)

  // A folder for an organization not allowed is ignored (and logged).
  const stray = await rulesFolder(t)
  await cp(join(stray, ORG), join(stray, '99999'), { recursive: true })
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: stray } })
  t.same(app.rules.organizations(), [ORG])
})

t.test('rules:check and rules:test take the organization', async (t) => {
  const dir = await rulesFolder(t)
  const lines: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  // What main() prints is captured, and asserted after: TAP itself writes to stdout.
  const capture = async (run: () => Promise<number>) => {
    lines.length = 0
    process.stdout.write = ((chunk: string) => lines.push(String(chunk)) > 0) as typeof process.stdout.write
    try {
      return { code: await run(), text: lines.join('') }
    } finally {
      process.stdout.write = write
    }
  }
  const tested = await capture(() => main('test', dir, ORG))
  t.equal(tested.code, 0)
  t.match(tested.text, /3 passed, 0 failed/)
  const other = await capture(() => main('check', dir, ORG2))
  t.equal(other.code, 0)
  t.match(other.text, new RegExp(`${ORG2} does not exist: the shared set in .* decides for organization ${ORG2}`))
  await writeFile(join(dir, ORG, 'broken.json'), '{')
  t.equal((await capture(() => main('check', dir, ORG))).code, 1)
  t.equal((await capture(() => main('check', dir))).code, 0, 'the shared set is not the organization’s')
  t.equal((await capture(() => main('check', dir, '../etc'))).code, 2, 'an organization is an id')
})

t.test('backtests and shadow rules of an organization never read another organization’s decisions', async (t) => {
  const dir = await rulesFolder(t)
  // Shadow: ORG's own folder blocks over 10,000; the shared shadow set is the shipped one with 25,000.
  const shadowDir = await rulesFolder(t)
  await writeFile(
    join(shadowDir, ORG, 'outstanding-over-20000.json'),
    json({ ...OWN_RULE, conditions: { all: [{ ...OWN_RULE.conditions.all[0], value: 10000 }] } }),
  )
  await rm(join(shadowDir, ORG, 'tests'), { recursive: true })
  await rm(join(shadowDir, 'tests'), { recursive: true })
  const sharedRule = join(shadowDir, 'outstanding-over-50000.json')
  await writeFile(sharedRule, (await readFile(sharedRule, 'utf8')).replace('"value": 50000', '"value": 25000'))
  const sandbox = await startSandbox(t)
  const owing = [15000, 30000, 45000]
  const ids = owing.map((amount, i) => {
    const id = `48100000000000${i}`
    for (const org of [ORG, ORG2])
      sandbox.organizations.get(org)?.set(id, zohoContact(id, `Owes ${amount}`, { outstanding_receivable_amount_bcy: amount }))
    return id
  })
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, RULES_SHADOW_DIR: shadowDir, ADMIN_API_KEYS: ADMIN } })
  for (const id of ids) {
    for (const org of [ORG, ORG2]) {
      t.equal((await app.inject({ url: `/contacts/${id}/risk?organization_id=${org}` })).statusCode, 200)
    }
  }
  // ORG2 once more: the two organizations have different numbers of decisions.
  await app.inject({ url: `/contacts/${ids[0]}/risk?organization_id=${ORG2}` })
  await app.history.flush()

  const backtest = async (body: Record<string, unknown>) =>
    (await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: body })).json()
  const own = await backtest({ organization_id: ORG })
  t.same([own.evaluated, own.changed], [3, 0], 'ORG’s own set on ORG’s 3 decisions only: nothing changes')
  const shared = await backtest({})
  t.same([shared.evaluated, shared.changed], [4, 0], 'the shared set on the decisions of ORG2, the organization it decides for')
  const other = await backtest({ organization_id: ORG2 })
  t.equal(other.evaluated, 4)
  t.same(other.matrix.allow, { allow: 4, review: 0, block: 0 })
  const candidate = await backtest({
    organization_id: ORG,
    rules: [{ file: 'own.json', content: { ...OWN_RULE, conditions: { all: [{ ...OWN_RULE.conditions.all[0], value: 40000 }] } } }],
  })
  t.same([candidate.evaluated, candidate.changed, candidate.matrix.block.allow], [3, 1, 1], 'only 30,000 changes (block → allow)')

  // The same candidate checked and backtested for ORG from outside: POST /rules/validate runs ORG's own
  // fixtures (30,000 must block), and npm run rules:backtest -- --organization compares ORG's decisions only.
  const loose = { file: 'own.json', content: { ...OWN_RULE, conditions: { all: [{ ...OWN_RULE.conditions.all[0], value: 40000 }] } } }
  const validate = async (body: Record<string, unknown>) =>
    (await app.inject({ method: 'POST', url: '/rules/validate', headers: admin, payload: body })).json()
  const checked = await validate({
    organization_id: ORG,
    rules: [loose, { file: 'inactive.json', content: JSON.parse(await readFile('rules/inactive-contact.json', 'utf8')) }],
  })
  t.equal(checked.valid, false, 'ORG’s fixtures reject a set that lets 30,000 through')
  t.match(checked.fixtures.failures, [{ file: 'tests/own.json', case: '30,000.00 is over', message: 'decision allow, expected block' }])
  const candidateDir = await mkdtemp(join(tmpdir(), 'creditgate-candidate-'))
  t.teardown(() => rm(candidateDir, { recursive: true, force: true }))
  await writeFile(join(candidateDir, 'own.json'), json(loose.content))
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const lines: string[] = []
  const env = { CREDITGATE_URL: base, CREDITGATE_ADMIN_KEY: 'admin-key-0123456789abcdef' }
  t.equal(await backtestCommand([candidateDir, '--organization', ORG], env, (line = '') => lines.push(line)), 0, lines.join('\n'))
  t.match(lines.join('\n'), `on 3 recorded decisions of organization ${ORG}`, 'ORG’s 3 decisions, not ORG2’s 4')
  t.match(lines.join('\n'), '3 evaluated, 1 would change')

  await eventually(async () => {
    const s = (await app.inject({ url: `/rules/shadow?organization_id=${ORG}`, headers: admin })).json()
    return s.evaluated === 3
  }, 'ORG’s shadow comparison')
  const ownShadow = (await app.inject({ url: `/rules/shadow?organization_id=${ORG}`, headers: admin })).json()
  t.same([ownShadow.organization_id, ownShadow.changed, ownShadow.matrix.allow.block], [ORG, 1, 1], '15,000 is over the shadow 10,000')
  await eventually(
    async () => (await app.inject({ url: `/rules/shadow?organization_id=${ORG2}`, headers: admin })).json().evaluated === 4,
    'ORG2’s',
  )
  const otherShadow = (await app.inject({ url: `/rules/shadow?organization_id=${ORG2}`, headers: admin })).json()
  t.same([otherShadow.changed, otherShadow.matrix.allow.block], [2, 2], '30,000 and 45,000 are over the shared shadow 25,000')
  const sharedShadow = (await app.inject({ url: '/rules/shadow', headers: admin })).json()
  t.equal(sharedShadow.evaluated, 4, 'the shared shadow set saw ORG2’s decisions only')
})

t.test('a folder added while running is read on its first change; until it holds a valid set, the shared set decides', async (t) => {
  const dir = await rulesFolder(t)
  await rm(join(dir, ORG), { recursive: true })
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, ADMIN_API_KEYS: ADMIN } })
  t.same(app.rules.organizations(), [])
  const shared = app.rules.current().version
  await mkdir(join(dir, ORG2))
  await writeFile(join(dir, ORG2, 'broken.json'), '{')
  const broken = (await app.inject({ method: 'POST', url: `/rules/reload?organization_id=${ORG2}`, headers: admin })).json()
  t.same([broken.result, broken.version], ['rejected', 'none'])
  t.equal(app.rules.for(ORG2).current().version, shared, 'the shared set still decides for it')
  t.ok(app.rules.for(ORG2).lastError, 'and why its folder is not used shows for it')
  await writeFile(join(dir, ORG2, 'broken.json'), json(OWN_RULE))
  await eventually(() => app.rules.for(ORG2).current().version !== shared, 'its own set to go live')
  t.same(app.rules.organizations(), [ORG2])
  t.equal(app.rules.current().version, shared, 'the shared set is unchanged')
})
