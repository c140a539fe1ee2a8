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
