import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createLocalDeliveries, createLocalOutbox } from '../../src/adapters/local/outbox.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { openCase } from '../../src/domain/case.js'
import { todayIn } from '../../src/domain/receivables.js'
import { listedInvoice, zohoContact } from '../../src/sandbox/contacts.js'
import { openServer } from '../../src/server.js'
import { createCallbacks } from '../../src/services/callbacks.js'
import { eventually, ORG, ORG2, startApp, startSandbox } from '../helpers/app.js'

/** Settings per organization (issue 27): ORGANIZATIONS_FILE, checked at start-up. */

interface Teardown {
  teardown(fn: () => unknown): void
}

async function tempDir(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'creditgate-orgs-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`
const ALLOWED = { ZOHO_ORGANIZATION_ID: ORG, ZOHO_ORGANIZATION_IDS: `${ORG},${ORG2}` }

t.test('a wrong entry stops start-up with one line naming it', async (t) => {
  const dir = await tempDir(t)
  const configWith = async (organizations: unknown) => {
    const file = join(dir, `${Math.random()}.json`)
    await writeFile(file, json({ organizations }))
    return () => loadConfig({ ...ALLOWED, ORGANIZATIONS_FILE: file })
  }
  const cases: [unknown, RegExp][] = [
    [[{ organization_id: '555' }], /^invalid configuration: ORGANIZATIONS_FILE organizations\[0\] \(555\): not in ZOHO_ORGANIZATION_IDS$/],
    [
      [{ organization_id: ORG }, { organization_id: ORG2, time_zone: 'Mars/Olympus' }],
      new RegExp(`^invalid configuration: ORGANIZATIONS_FILE organizations\\[1\\] \\(${ORG2}\\) time_zone: must be an IANA time zone`),
    ],
    [
      [{ organization_id: ORG }, { organization_id: ORG2 }, { organization_id: ORG, time_zone: 'UTC' }],
      new RegExp(`^invalid configuration: ORGANIZATIONS_FILE organizations\\[2\\] \\(${ORG}\\): the organization is listed twice$`),
    ],
    [[{ organization_id: ORG, release_limits: { alice: -1 } }], /organizations\[0\] \(10234695\) release_limits\.alice: /],
    [
      [{ organization_id: ORG, callbacks: { erp: { url: 'https://erp.example/hooks', secret: 'nope' } } }],
      /callbacks\.erp\.secret: must be whsec_/,
    ],
    [[{ organization_id: ORG, colour: 'blue' }], /organizations\[0\] \(10234695\)/],
  ]
  for (const [organizations, message] of cases) {
    const load = await configWith(organizations)
    t.throws(load, ConfigError)
    try {
      load()
    } catch (err) {
      t.match((err as Error).message, message)
      t.notMatch((err as Error).message, /\n/, 'one line')
    }
  }
  const missing = () => loadConfig({ ...ALLOWED, ORGANIZATIONS_FILE: join(dir, 'none.json') })
  t.throws(missing, /ORGANIZATIONS_FILE .*none\.json cannot be read/)
  const good = loadConfig({
    ...ALLOWED,
    ORGANIZATIONS_FILE: await writeFileIn(dir, { organizations: [{ organization_id: ORG, time_zone: 'Asia/Dubai' }] }),
  })
  t.same(good.organizations, [{ organization_id: ORG, time_zone: 'Asia/Dubai' }])
  t.same(loadConfig(ALLOWED).organizations, [], 'without the file: the environment for every organization')
})

async function writeFileIn(dir: string, value: unknown) {
  const file = join(dir, 'organizations.json')
  await writeFile(file, json(value))
  return file
}

/** Review anything past due; block over `limit` outstanding. */
const rulesOf = (limit: number) => ({
  [`outstanding-over-${limit}.json`]: json({
    name: `outstanding-over-${limit}`,
    conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: limit }] },
    event: {
      type: 'block',
      params: { code: 'OUTSTANDING_OVER_LIMIT', message: `Outstanding {{base_currency}} {{outstanding_bcy}} exceed ${limit}` },
    },
  }),
  'any-overdue.json': json({
    name: 'any-overdue',
    conditions: { all: [{ fact: 'oldest_overdue_days', operator: 'greaterThan', value: 0 }] },
    event: { type: 'review', params: { code: 'OVERDUE', message: 'An invoice is {{oldest_overdue_days}} days past due' } },
  }),
})

/** The same customer data in both fixtures: owes 30,000, one invoice; in Kiritimati it is a day past due, in Pago Pago due today. */
const fixturesOf = (expect: { decision: string; reasons: string[] }, oldestOverdueDays: number) => ({
  cases: [
    {
      name: 'owes 30,000; its invoice due today in Pago Pago',
      contact: { outstanding_receivable_amount_bcy: 30000 },
      receivables: { oldest_overdue_days: oldestOverdueDays, overdue_invoices: oldestOverdueDays > 0 ? 1 : 0 },
      expect,
    },
  ],
})

t.test('two organizations with different thresholds and time zones decide the same customer data as their fixtures say', async (t) => {
  const dir = await tempDir(t)
  const write = async (folder: string, files: Record<string, string>) => {
    await mkdir(join(dir, folder, 'tests'), { recursive: true })
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, folder, name), text)
  }
  await write('.', rulesOf(50000))
  // Kiritimati (UTC+14) is always at least a day ahead of Pago Pago (UTC−11).
  const kiritimati = { decision: 'block', reasons: ['OUTSTANDING_OVER_LIMIT', 'OVERDUE'] }
  const pagoPago = { decision: 'allow', reasons: [] }
  await write(ORG, { ...rulesOf(20000), 'tests/same-customer.json': json(fixturesOf(kiritimati, 1)) })
  await write(ORG2, { ...rulesOf(40000), 'tests/same-customer.json': json(fixturesOf(pagoPago, 0)) })
  const organizationsFile = await writeFileIn(await tempDir(t), {
    organizations: [
      { organization_id: ORG, name: 'Northwind Pacific', time_zone: 'Pacific/Kiritimati', release_limits: { alice: 1000 } },
      { organization_id: ORG2, name: 'Northwind Samoa', time_zone: 'Pacific/Pago_Pago' },
    ],
  })
  const sandbox = await startSandbox(t)
  const id = '482000000000001'
  const due = todayIn('Pacific/Pago_Pago', Date.now())
  for (const org of [ORG, ORG2]) {
    sandbox.organizations.get(org)?.set(id, zohoContact(id, 'Same Customer', { outstanding_receivable_amount_bcy: 30000 }))
    const invoice = { ...listedInvoice(`48200000000900${org.slice(-1)}`, id, { dueInDays: 0, balance: 30000 }, Date.now()), due_date: due }
    sandbox.documents.get(org)?.invoices.push(invoice)
  }
  const { app } = await startApp(t, sandbox, {
    env: { RULES_DIR: dir, ORGANIZATIONS_FILE: organizationsFile, RELEASE_LIMITS: 'alice:50000' },
  })
  t.same(app.rules.organizations(), [ORG, ORG2], 'both fixture sets passed at start-up')
  // Each organization's base currency, from Get Organization (one background call each, through its budget).
  await eventually(() => app.zoho.baseCurrency(ORG) === 'INR' && app.zoho.baseCurrency(ORG2) === 'AED', 'the base currencies')
  t.equal(sandbox.stats.organizationCalls, 2)
  const decide = async (org: string) => (await app.inject({ url: `/contacts/${id}/risk?organization_id=${org}` })).json()
  const [first, second] = [await decide(ORG), await decide(ORG2)]
  t.same([first.decision, first.reasons.map((r: { code: string }) => r.code).sort()], [kiritimati.decision, kiritimati.reasons])
  t.ok(first.facts.oldest_overdue_days >= 1, 'past due in Kiritimati')
  t.equal(first.facts.base_currency, 'INR')
  t.equal(
    first.reasons.find((r: { code: string }) => r.code === 'OUTSTANDING_OVER_LIMIT').message,
    'Outstanding INR 30,000.00 exceed 20000',
  )
  t.same([second.decision, second.reasons], [pagoPago.decision, pagoPago.reasons])
  t.equal(second.facts.oldest_overdue_days, 0, 'due today in Pago Pago')
  t.equal(second.facts.base_currency, 'AED')

  t.same(app.zoho.settings(ORG).releaseLimits, [{ name: 'alice', value: 1000 }], 'the entry’s release limits replace RELEASE_LIMITS')
  t.same(app.zoho.settings(ORG2).releaseLimits, [{ name: 'alice', value: 50000 }], 'an entry without them keeps RELEASE_LIMITS')
})

t.test('npm start without credentials: the sandbox’s two organizations, with their base currencies and rule sets', async (t) => {
  const { server } = await openServer({ LOG_LEVEL: 'silent' })
  t.teardown(() => server.close())
  await server.ready()
  await eventually(() => server.zoho.baseCurrency(ORG) === 'INR' && server.zoho.baseCurrency(ORG2) === 'AED', 'the base currencies')
  t.same([server.zoho.settings(ORG).timeZone, server.zoho.settings(ORG2).timeZone], ['Asia/Kolkata', 'Asia/Dubai'])
  const status = (await server.inject({ url: '/rules' })).json()
  t.same(
    status.organizations.map((o: { organization_id: string; own: boolean }) => [o.organization_id, o.own]),
    [
      [ORG, false],
      [ORG2, true],
    ],
  )
  const gulf = (await server.inject({ url: `/contacts/470000000010002/risk?organization_id=${ORG2}` })).json()
  t.match(gulf, { decision: 'block', facts: { base_currency: 'AED' } })
  t.same(gulf.reasons.map((r: { rule: string }) => r.rule).sort(), ['group-exposure-over-20000', 'outstanding-over-20000'])
  // The sandbox's group: Acme Retail, linked across the two, owes 19,000 AED here and 62,400 INR in India.
  const acme = (await server.inject({ url: `/contacts/470000000010003/risk?organization_id=${ORG2}` })).json()
  t.match(acme, { decision: 'review', facts: { exposure_bcy: 19000, group_exposure_bcy: 21761.06 } })
  t.same(
    acme.reasons.map((r: { code: string }) => r.code),
    ['GROUP_EXPOSURE_OVER_LIMIT'],
  )
  const india = (await server.inject({ url: '/contacts/460000000026049/risk' })).json()
  t.match(india, { decision: 'block', facts: { base_currency: 'INR' }, reasons: [{ rule: 'outstanding-over-50000' }] })
})

t.test('case events go to the callback targets of the case’s organization', async (t) => {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(req.url ?? '')
    req.resume().on('end', () => res.writeHead(204).end())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const secret = `whsec_${randomBytes(32).toString('base64')}`
  const callbacks = createCallbacks({
    store: createLocalOutbox(),
    deliveries: createLocalDeliveries(),
    targets: (org) => (org === ORG ? [{ name: 'shop', url: `${base}/india`, secret }] : [{ name: 'erp', url: `${base}/gulf`, secret }]),
  })
  const hold = (org: string, caller: string) => ({
    caseId: `case_00000000000000000000000${org.slice(-1)}`,
    org,
    contactId: '460000000026049',
    order: { reference: 'SO-1', amount: 8000 },
    decisionId: 'd1',
    decision: 'block' as const,
    reasons: [],
    unreleasable: [],
    caller,
  })
  const policy = { expireDays: 14, releaseValidDays: 7, tolerance: 0.1 }
  await callbacks.enqueue('opened', openCase(hold(ORG, 'shop'), Date.now(), policy))
  await callbacks.enqueue('opened', openCase(hold(ORG2, 'shop'), Date.now(), policy))
  await callbacks.enqueue('opened', openCase(hold(ORG2, 'erp'), Date.now(), policy))
  t.equal(await callbacks.tick(), 2, 'shop has no target in the Gulf organization: its event there is never queued')
  t.same(hits.sort(), ['/gulf', '/india'])
})
