import { parseContact } from '../domain/contact.js'
import type { Facts } from '../domain/facts.js'
import { buildFacts } from '../domain/facts.js'
import { evaluateCompiled } from '../rules/compile.js'
import { evaluate } from '../rules/reference.js'
import { compileRuleSet, type LoadedRule, type RuleSet, ruleSetOf } from '../rules/rule-set.js'
import { zohoContact } from '../sandbox/example-contact.js'
import { prepareRuleSetFrom } from '../services/rule-sets/fixtures.js'
import { out, SECONDS } from './bench-lib.js'

/**
 * npm run bench's evaluator part: the compiled rules with the shipped set and 4, 50, 500 and 5,000
 * synthetic rules, and json-rules-engine (the reference) beside them, in one process.
 */

/** Synthetic rules: varied facts and operators, so growth in rule count shows. Validated 500 at a time (a set's limit). */
function syntheticRules(count: number): RuleSet {
  const facts = ['outstanding_bcy', 'exposure_bcy', 'unused_credits_bcy', 'order_amount', 'payment_terms']
  const sources = Array.from({ length: count }, (_, i) => ({
    file: `rule-${String(i).padStart(4, '0')}.json`,
    content: {
      name: `rule-${i}`,
      priority: 1 + (i % 10),
      conditions: {
        all: [
          { fact: facts[i % facts.length], operator: i % 2 ? 'greaterThan' : 'lessThanInclusive', value: 1000 * (i + 1) },
          { fact: 'status', operator: 'equal', value: i % 3 ? 'active' : 'inactive' },
        ],
      },
      event: { type: i % 4 === 0 ? 'review' : 'alert', params: { code: `RULE_${i}`, message: `rule ${i}: {{outstanding_bcy}}` } },
    },
  }))
  const rules: LoadedRule[] = []
  for (let at = 0; at < sources.length; at += 500) {
    const compiled = compileRuleSet(sources.slice(at, at + 500))
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors[0]))
    rules.push(...compiled.ruleSet.rules)
  }
  return ruleSetOf(rules)
}

/** Facts of one contact with 1,000 different order amounts: what the evaluator sees on real order traffic. */
function benchFacts(): Facts[] {
  const parsed = parseContact(
    zohoContact('460000000000001', 'Bench', { outstanding_receivable_amount_bcy: 62400, unused_credits_receivable_amount_bcy: 10 }),
  )
  if (!parsed.ok) throw new Error(parsed.problem)
  const receivables = (outstanding: number, amount: number) => ({
    overdue_bcy: 0,
    oldest_overdue_days: 0,
    overdue_invoices: 0,
    overdue_ratio: 0,
    open_orders_bcy: 0,
    reserved_bcy: 0,
    exposure_with_orders_bcy: outstanding + amount,
  })
  return Array.from({ length: 1000 }, (_, i) => buildFacts(parsed.contact, { amount: i * 7.5 }, 0, receivables))
}

/** Decisions per second of one evaluator on one set, for about `ms` milliseconds. */
async function evaluatorRate(ruleSet: RuleSet, engine: 'compiled' | 'json-rules-engine', ms: number): Promise<number> {
  const facts = benchFacts()
  let n = 0
  const started = performance.now()
  const deadline = started + ms
  if (engine === 'compiled') {
    while (performance.now() < deadline) {
      for (let i = 0; i < 100; i++) evaluateCompiled(ruleSet, facts[(n + i) % facts.length] as Facts)
      n += 100
    }
  } else {
    while (performance.now() < deadline) await evaluate(ruleSet, facts[n++ % facts.length] as Facts)
  }
  return n / ((performance.now() - started) / 1000)
}

/** The evaluator table, printed. */
export async function evaluatorTable(): Promise<void> {
  const shipped = await prepareRuleSetFrom('rules')
  if (!shipped.ok) throw new Error('the shipped rules do not load')
  const ms = Math.min(2000, SECONDS * 200)
  out(`The evaluator alone (one contact, 1,000 order amounts in turn; about ${ms} ms each):`)
  out()
  out('| evaluator | rules | decisions/s | µs per decision | µs per rule |')
  out('|-----------|------:|------------:|----------------:|------------:|')
  const evaluatorRow = async (ruleSet: RuleSet, engine: 'compiled' | 'json-rules-engine', name = `${ruleSet.rules.length}`) => {
    const rate = await evaluatorRate(ruleSet, engine, ms)
    const us = 1e6 / rate
    out(`| ${engine} | ${name} | ${rate.toFixed(0)} | ${us.toFixed(us < 10 ? 2 : 0)} | ${(us / ruleSet.rules.length).toFixed(3)} |`)
  }
  const synthetic = [4, 50, 500, 5000].map(syntheticRules)
  await evaluatorRow(shipped.ruleSet, 'compiled', `${shipped.ruleSet.rules.length} (shipped)`)
  for (const ruleSet of synthetic) await evaluatorRow(ruleSet, 'compiled')
  await evaluatorRow(shipped.ruleSet, 'json-rules-engine', `${shipped.ruleSet.rules.length} (shipped)`)
  for (const ruleSet of synthetic.slice(0, 3)) await evaluatorRow(ruleSet, 'json-rules-engine')
  out()
}
