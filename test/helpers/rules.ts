import { compileRuleSet, type RuleSet } from '../../src/rules/rule-set.js'

/** One rule of a test set: the rule file's fields, flattened. */
export interface TestRule {
  readonly name: string
  readonly conditions: unknown
  readonly type: string
  readonly code: string
  readonly message: string
}

/** A rule set validated as the service validates rule files (each rule in `<name>.json`); throws if invalid. */
export function ruleSetOf(rules: readonly TestRule[]): RuleSet {
  const compiled = compileRuleSet(
    rules.map((r) => ({
      file: `${r.name}.json`,
      content: { name: r.name, conditions: r.conditions, event: { type: r.type, params: { code: r.code, message: r.message } } },
    })),
  )
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors))
  return compiled.ruleSet
}

/** A rule file that reviews orders over `threshold` (code LARGE_ORDER). */
export const reviewRule = (threshold: number) => ({
  name: 'large-order-review',
  conditions: { all: [{ fact: 'order_amount', operator: 'greaterThan', value: threshold }] },
  event: { type: 'review', params: { code: 'LARGE_ORDER', message: 'Order {{order_amount}} needs a second look' } },
})

/** A rule file named `name` that reviews contacts owing more than `value`. */
export const ruleFile = (name: string, value: number) => ({
  name,
  conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value }] },
  event: { type: 'review', params: { code: name.toUpperCase().replaceAll('-', '_'), message: 'over {{outstanding_bcy}}' } },
})

/** A rule whose condition is `depth` nested `not`s around one comparison. */
export function deepRule(depth: number) {
  let conditions: unknown = { fact: 'outstanding_bcy', operator: 'greaterThan', value: 1 }
  for (let i = 0; i < depth; i++) conditions = { not: conditions }
  return { name: 'deep', conditions: { all: [conditions] }, event: { type: 'block', params: { code: 'DEEP', message: 'deep' } } }
}
