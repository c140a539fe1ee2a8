import { cp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import t from 'tap'
import { createMemoryCache } from '../src/adapters/memory-cache.js'
import { parseContact, type ZohoContact } from '../src/domain/contact.js'
import { RiskDecisionSchema } from '../src/domain/decision.js'
import { prepareRuleSetFrom } from '../src/rules/fixtures.js'
import { compileRuleSet, type RuleSet } from '../src/rules/rule-set.js'
import { zohoContact } from '../src/sandbox/example-contact.js'
import type { ContactSource } from '../src/services/contacts.js'
import { createContactService } from '../src/services/contacts.js'
import { createDecisionService } from '../src/services/decisions.js'
import { eventually, ORG, startApp, startSandbox } from './helpers/app.js'

/** Decisions over an in-memory cache, with a source that counts nothing: the contacts are cached. */
async function service(ruleSet: RuleSet, contacts: Record<string, ZohoContact>, fetchedAt: string, memoSize?: number) {
  const cache = createMemoryCache()
  for (const [id, contact] of Object.entries(contacts)) await cache.set('1', id, { fetched_at: fetchedAt, contact }, 3600)
  const source: ContactSource = {
    fetchContact: async () => {
      throw new Error('not in this test')
    },
  }
  const contactService = createContactService({
    cache,
    source,
    ttlSeconds: 86_400,
    staleTtlSeconds: 86_400,
    log: pino({ level: 'silent' }),
  })
  return createDecisionService({ contacts: contactService, rules: () => ruleSet, failMode: 'closed', memoSize })
}

const contact = (id: string, fields: Record<string, unknown>) => {
  const parsed = parseContact(zohoContact(id, `Customer ${id}`, fields))
  if (!parsed.ok) throw new Error(parsed.problem)
  return parsed.contact
}

t.test('remembered evaluations equal fresh ones, for every input that matters', async (t) => {
  const shipped = await prepareRuleSetFrom('rules')
  if (!shipped.ok) throw new Error('rules')
  const contacts = {
    '1': contact('1', { outstanding_receivable_amount_bcy: 62400, unused_credits_receivable_amount_bcy: 10 }),
    '2': contact('2', { outstanding_receivable_amount_bcy: 95000, credit_limit: 100000 }),
    '3': contact('3', { status: 'inactive' }),
  }
  const now = new Date().toISOString()
  const remembering = await service(shipped.ruleSet, contacts, now)
  const forgetting = await service(shipped.ruleSet, contacts, now, 0)
  const essence = (d: { decision: string; reasons: unknown; alerts: unknown; facts: unknown }) =>
    JSON.stringify([d.decision, d.reasons, d.alerts, d.facts])
  for (let round = 0; round < 3; round++) {
    for (const id of ['1', '2', '3']) {
      for (const amount of [undefined, 0, 4999.99, 5000, 5000.01, 60000]) {
        const input = { org: '1', contactId: id, order: amount === undefined ? undefined : { amount } }
        const [a, b] = [await remembering.decide(input), await forgetting.decide(input)]
        t.equal(essence(a), essence(b), `contact ${id}, order ${amount} (round ${round})`)
        RiskDecisionSchema.parse(a)
      }
    }
  }
})

t.test('a rule that reads the contact’s age makes the age part of what is remembered', async (t) => {
  const compiled = compileRuleSet([
    {
      file: 'old-data.json',
      content: {
        name: 'old-data',
        conditions: { all: [{ fact: 'contact_age_seconds', operator: 'greaterThan', value: 3600 }] },
        event: { type: 'review', params: { code: 'OLD_DATA', message: 'contact data is {{contact_age_seconds}} seconds old' } },
      },
    },
  ])
  if (!compiled.ok) throw new Error('rules')
  t.same(
    compiled.ruleSet.inputs.map((i) => i.fact),
    ['contact_age_seconds'],
    'the only input',
  )
  const contacts = { '1': contact('1', {}) }
  const young = await service(compiled.ruleSet, contacts, new Date(Date.now() - 60_000).toISOString())
  const old = await service(compiled.ruleSet, contacts, new Date(Date.now() - 7_200_000).toISOString())
  t.equal((await young.decide({ org: '1', contactId: '1' })).decision, 'allow')
  t.match(await old.decide({ org: '1', contactId: '1' }), {
    decision: 'review',
    reasons: [{ message: /contact data is 720\d seconds old/ }],
  })
})

t.test('a new rules version is never answered from the old version’s memory', async (t) => {
  const rule = (threshold: number) =>
    compileRuleSet([
      {
        file: 'x.json',
        content: {
          name: 'x',
          conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: threshold }] },
          event: { type: 'block', params: { code: 'OVER', message: 'over' } },
        },
      },
    ])
  const [low, high] = [rule(100), rule(100_000)]
  if (!low.ok || !high.ok) throw new Error('rules')
  let active = low.ruleSet
  const cache = createMemoryCache()
  await cache.set(
    '1',
    '1',
    { fetched_at: new Date().toISOString(), contact: contact('1', { outstanding_receivable_amount_bcy: 5000 }) },
    3600,
  )
  const contacts = createContactService({
    cache,
    source: { fetchContact: async () => contact('1', {}) },
    ttlSeconds: 3600,
    staleTtlSeconds: 3600,
    log: pino({ level: 'silent' }),
  })
  const decisions = createDecisionService({ contacts, rules: () => active, failMode: 'closed' })
  t.equal((await decisions.decide({ org: '1', contactId: '1' })).decision, 'block')
  active = high.ruleSet
  const after = await decisions.decide({ org: '1', contactId: '1' })
  t.equal(after.decision, 'allow')
  t.equal(after.rules_version, high.ruleSet.version)
})

t.test('an evaluation that began under the old rules is not remembered under the new ones', async (t) => {
  // Ten uncached contacts owing 40,500–44,550: allowed under the shipped rules (block over
  // 50,000), blocked once the threshold is lowered to 40,000. For each, one decision (order 100)
  // reads the old rules and waits on Zoho; the new rules go live; a second decision (order 200)
  // reads them and waits on the same Zoho call. Zoho answers both at once: the old evaluation
  // runs while the new version's memory starts. What it computed must not be remembered as the
  // new version's answer for order 100.
  const dir = t.testdir({})
  await cp('rules', dir, { recursive: true })
  await rm(join(dir, 'tests'), { recursive: true })
  const sandbox = await startSandbox(t)
  const contacts = sandbox.organizations.get(ORG) as Map<string, Record<string, unknown>>
  const ids = Array.from({ length: 10 }, (_, i) => {
    const id = `4900000000${String(i).padStart(5, '0')}`
    contacts.set(id, zohoContact(id, `Customer ${i}`, { outstanding_receivable_amount_bcy: 40_500 + i * 450 }))
    return id
  })
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, ZOHO_MAX_CONCURRENCY: '10' } })
  const decide = async (id: string, amount: number) => (await app.inject({ url: `/contacts/${id}/risk?order_amount=${amount}` })).json()
  const oldVersion = app.rules.current().version

  const release = sandbox.hold()
  const underOld = ids.map((id) => decide(id, 100))
  await eventually(() => sandbox.stats.contactCalls === ids.length, 'every decision to wait on Zoho')
  const file = join(dir, 'outstanding-over-50000.json')
  await writeFile(file, (await readFile(file, 'utf8')).replace('"value": 50000', '"value": 40000'))
  t.equal((await app.rules.reload('test')).result, 'activated')
  const newVersion = app.rules.current().version
  const underNew = ids.map((id) => decide(id, 200))
  release()

  t.same(
    (await Promise.all(underOld)).map((d) => [d.decision, d.rules_version]),
    ids.map(() => ['allow', oldVersion]),
    'decided under the rules they began with',
  )
  t.same(
    (await Promise.all(underNew)).map((d) => [d.decision, d.rules_version]),
    ids.map(() => ['block', newVersion]),
  )
  t.equal(sandbox.stats.contactCalls, ids.length, 'one Zoho call per contact')
  const again = await Promise.all(ids.map((id) => decide(id, 100)))
  t.same(
    again.map((d) => [d.decision, d.rules_version]),
    ids.map(() => ['block', newVersion]),
    'asked again with order 100, each is decided under the new rules',
  )
})
