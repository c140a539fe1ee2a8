import t from 'tap'
import { parseContact } from '../../src/domain/contact.js'
import { buildFacts, type Facts } from '../../src/domain/facts.js'
import { type ReceivablesFacts, suppliedReceivables } from '../../src/domain/receivables.js'
import { createEngine, evaluate, summarise } from '../../src/rules/reference.js'
import { compileRuleSet, type RuleSet } from '../../src/rules/rule-set.js'
import { type Evaluation, EvaluationError } from '../../src/rules/semantics.js'
import { SAMPLE_CONTACTS, zohoContact } from '../../src/sandbox/contacts.js'
import { prepareRuleSetFrom } from '../../src/services/rule-sets/fixtures.js'
import { SHIPPED_RULES } from '../helpers/app.js'

const shipped = async (): Promise<RuleSet> => {
  const loaded = await prepareRuleSetFrom('rules')
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors))
  return loaded.ruleSet
}

export function factsFor(fields: Record<string, unknown>, orderAmount?: number, receivables: Partial<ReceivablesFacts> = {}): Facts {
  const parsed = parseContact(zohoContact('460000000000001', 'Test Customer', fields))
  if (!parsed.ok) throw new Error(parsed.problem)
  return buildFacts(parsed.contact, orderAmount === undefined ? undefined : { amount: orderAmount }, 0, suppliedReceivables(receivables))
}

t.test('each shipped rule fires for a contact that meets it, and not for one that does not', async (t) => {
  const rules = await shipped()
  t.same(
    rules.rules.map((r) => r.definition.name),
    SHIPPED_RULES,
  )
  type Case = [Record<string, unknown>, number?, Partial<ReceivablesFacts>?]
  const table: { rule: string; fires: Case[]; quiet: Case[] }[] = [
    {
      rule: 'outstanding-over-50000',
      fires: [[{ outstanding_receivable_amount_bcy: 62400 }], [{ outstanding_receivable_amount_bcy: 50000.01 }]],
      quiet: [[{ outstanding_receivable_amount_bcy: 50000 }], [{ outstanding_receivable_amount_bcy: 49000 }, 5000]],
    },
    {
      rule: 'credit-limit-exceeded',
      fires: [
        [{ outstanding_receivable_amount_bcy: 95000, credit_limit: 100000 }, 5000.01],
        [{ outstanding_receivable_amount_bcy: 35000, credit_limit: 30000 }],
        [{ outstanding_receivable_amount_bcy: 90000, credit_limit: 100000 }, 5000, { open_orders_bcy: 5000.01 }],
      ],
      quiet: [
        [{ outstanding_receivable_amount_bcy: 95000, credit_limit: 100000 }, 5000],
        [{ outstanding_receivable_amount_bcy: 90000, credit_limit: 100000 }, 5000, { open_orders_bcy: 5000 }],
        [{ outstanding_receivable_amount_bcy: 95000, credit_limit: 0 }, 100000],
        [{ outstanding_receivable_amount_bcy: 95000, credit_limit: '' }, 100000],
        [{ outstanding_receivable_amount_bcy: 95000, credit_limit: undefined }, 100000],
      ],
    },
    { rule: 'inactive-contact', fires: [[{ status: 'inactive' }]], quiet: [[{ status: 'active' }]] },
    {
      rule: 'apply-unused-credits',
      fires: [[{ unused_credits_receivable_amount_bcy: 1369.66 }], [{ unused_credits_receivable_amount_bcy: 0.01 }]],
      quiet: [[{ unused_credits_receivable_amount_bcy: 0 }], [{ unused_credits_receivable_amount_bcy: '' }]],
    },
    {
      rule: 'overdue-over-30-days',
      fires: [
        [{}, 0, { oldest_overdue_days: 31 }],
        [{}, 0, { oldest_overdue_days: 120 }],
      ],
      quiet: [
        [{}, 0, { oldest_overdue_days: 30 }],
        [{}, 0, {}],
      ],
    },
    {
      rule: 'overdue-over-90-days',
      fires: [[{}, 0, { oldest_overdue_days: 91 }]],
      quiet: [
        [{}, 0, { oldest_overdue_days: 90 }],
        [{}, 0, { oldest_overdue_days: 45 }],
      ],
    },
    {
      rule: 'manual-credit-hold',
      fires: [[{ custom_fields: [{ api_name: 'cf_credit_hold', value: 'On' }] }]],
      quiet: [[{ custom_fields: [{ api_name: 'cf_credit_hold', value: 'Off' }] }], [{ custom_fields: [] }], [{}]],
    },
  ]
  for (const row of table) {
    for (const [fields, order, receivables] of row.fires) {
      const result = await evaluate(rules, factsFor(fields, order, receivables))
      t.ok(result.fired.includes(row.rule), `${row.rule} fires for ${JSON.stringify(fields)} order ${order ?? 0}`)
    }
    for (const [fields, order, receivables] of row.quiet) {
      const result = await evaluate(rules, factsFor(fields, order, receivables))
      t.notOk(result.fired.includes(row.rule), `${row.rule} stays quiet for ${JSON.stringify(fields)} order ${order ?? 0}`)
    }
  }
})

t.test('messages quote amounts formatted for people', async (t) => {
  const rules = await shipped()
  const result = await evaluate(
    rules,
    factsFor({ outstanding_receivable_amount_bcy: 95000, credit_limit: 100000, unused_credits_receivable_amount_bcy: 1369.66 }, 6000),
  )
  t.same(result.reasons, [
    {
      rule: 'credit-limit-exceeded',
      code: 'CREDIT_LIMIT_EXCEEDED',
      severity: 'block',
      message:
        'Exposure 101,000.00 (outstanding 95,000.00 + open orders 0.00 + reserved 0.00 + order 6,000.00) exceeds the credit limit of 100,000.00',
    },
    {
      rule: 'outstanding-over-50000',
      code: 'OUTSTANDING_OVER_LIMIT',
      severity: 'block',
      message: 'Outstanding receivables 95,000.00 exceed 50,000.00',
    },
  ])
  t.same(result.alerts, [
    {
      rule: 'apply-unused-credits',
      code: 'APPLY_CREDITS_FIRST',
      message: '1,369.66 of unused credits: apply them before asking for payment',
    },
    {
      rule: 'utilization-over-80',
      code: 'UTILIZATION_OVER_80',
      message: 'Exposure with open orders 101,000.00 uses 1.01 of the credit limit 100,000.00 (alert over 0.8)',
    },
  ])
})

const rule = (name: string, type: string, fact: string, value: unknown) => ({
  file: `${name}.json`,
  content: {
    name,
    conditions: { all: [{ fact, operator: 'greaterThan', value }] },
    event: { type, params: { code: name.toUpperCase().replaceAll('-', '_'), message: `${name} fired` } },
  },
})

t.test('decision precedence: block over review over allow; alerts never change it', async (t) => {
  const compiled = compileRuleSet([
    rule('big-debt', 'block', 'outstanding_bcy', 100000),
    rule('some-debt', 'review', 'outstanding_bcy', 10000),
    rule('has-credits', 'alert', 'unused_credits_bcy', 0),
  ])
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors))
  const rules = compiled.ruleSet
  const decide = async (outstanding: number, credits = 0) =>
    evaluate(rules, factsFor({ outstanding_receivable_amount_bcy: outstanding, unused_credits_receivable_amount_bcy: credits }))
  t.equal((await decide(500)).decision, 'allow')
  t.equal((await decide(20000)).decision, 'review')
  t.same(
    (await decide(20000)).reasons.map((r) => r.severity),
    ['review'],
  )
  const both = await decide(200000)
  t.equal(both.decision, 'block', 'block wins when block and review both fire')
  t.same(both.reasons.map((r) => r.code).sort(), ['BIG_DEBT', 'SOME_DEBT'])
  for (const outstanding of [500, 20000, 200000]) {
    const withAlert = await decide(outstanding, 10)
    const without = await decide(outstanding, 0)
    t.equal(withAlert.decision, without.decision, `alert leaves ${without.decision} as it is`)
    t.equal(withAlert.alerts.length, 1)
  }
})

t.test('a missing value never satisfies a comparison (63400 > null is true in JavaScript)', async (t) => {
  const compiled = compileRuleSet([
    {
      file: 'x.json',
      content: {
        name: 'over-limit',
        conditions: { all: [{ fact: 'exposure_bcy', operator: 'greaterThan', value: { fact: 'credit_limit' } }] },
        event: { type: 'block', params: { code: 'OVER', message: 'over' } },
      },
    },
  ])
  if (!compiled.ok) throw new Error('expected a valid set')
  const result = await evaluate(compiled.ruleSet, factsFor({ outstanding_receivable_amount_bcy: 63400, credit_limit: 0 }))
  t.equal(result.decision, 'allow')
})

t.test('1,000 concurrent evaluations equal the sequential ones: no dropped rules', async (t) => {
  const rules = await shipped()
  const facts = SAMPLE_CONTACTS.map((c, i) => {
    const parsed = parseContact(c.contact)
    if (!parsed.ok) throw new Error(parsed.problem)
    return buildFacts(parsed.contact, { amount: (i % 4) * 2500 }, 0)
  })
  const sequential: Evaluation[] = []
  for (const f of facts) sequential.push(await evaluate(rules, f))
  t.same(new Set(sequential.map((s) => s.decision)), new Set(['allow', 'block']), 'the mix has both outcomes')
  const concurrent = await Promise.all(Array.from({ length: 1000 }, (_, i) => evaluate(rules, facts[i % facts.length] as Facts)))
  let mismatches = 0
  concurrent.forEach((result, i) => {
    const expected = sequential[i % facts.length]
    if (JSON.stringify(result) !== JSON.stringify(expected)) mismatches++
  })
  t.equal(mismatches, 0)
})

t.test('a run that misses a rule is an error, never an allow', async (t) => {
  const rules = await shipped()
  const facts = factsFor({ outstanding_receivable_amount_bcy: 62400 })
  // The hazard: one Engine shared by overlapping runs. The first run to finish marks the engine
  // finished, and the others skip their remaining (lower-priority) rules.
  const shared = createEngine(rules)
  const pending = []
  for (let i = 0; i < 50; i++) {
    pending.push(shared.run(facts as unknown as Record<string, unknown>))
    await Promise.resolve() // requests arrive a moment apart
  }
  const runs = await Promise.all(pending)
  const short = runs.filter((r) => r.results.length + r.failureResults.length < rules.rules.length)
  t.ok(short.length > 0, `a shared engine dropped rules in ${short.length} of 50 runs`)
  const run = short[0]
  if (!run) return
  t.throws(() => summarise(rules, facts, [...run.results, ...run.failureResults]), EvaluationError)
  t.throws(() => summarise(rules, facts, []), EvaluationError, 'no results at all')
  const complete = runs.find((r) => r.results.length + r.failureResults.length === rules.rules.length)
  if (complete) {
    t.throws(() => summarise(rules, facts, [...complete.results, ...complete.results]), EvaluationError, 'a rule twice')
  }
})

t.test('the rule set is immutable: evaluations cannot change it', async (t) => {
  const rules = await shipped()
  t.ok(Object.isFrozen(rules.rules[0]?.definition.conditions))
  const before = JSON.stringify(rules)
  await evaluate(rules, factsFor({ outstanding_receivable_amount_bcy: 62400 }), { explain: true })
  t.equal(JSON.stringify(rules), before)
})

t.test('rules/README.md documents every fact and every operator', async (t) => {
  const { readFile } = await import('node:fs/promises')
  const { FACTS, OPERATORS } = await import('../../src/rules/catalogue.js')
  const doc = await readFile('rules/README.md', 'utf8')
  for (const fact of Object.keys(FACTS)) t.match(doc, new RegExp(`^\\| \`${fact}\` +\\|`, 'm'), `fact ${fact}`)
  for (const operator of Object.keys(OPERATORS)) {
    t.match(doc, new RegExp(`^\\| \`${operator}\` +\\|.*"operator": "${operator}"`, 'm'), `operator ${operator} with an example`)
  }
})
