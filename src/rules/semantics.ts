import type { Alert, Decision, Reason, TraceCondition, TraceRule } from '../domain/decision.js'
import type { Facts } from '../domain/facts.js'
import { formatAmount } from '../lib/format.js'
import { FACTS, type FactName, type OperatorName } from './catalogue.js'
import { PLACEHOLDER, type RuleSet } from './rule-set.js'
import { type ConditionLeaf, factReference } from './schema.js'

/**
 * What the two evaluators share, so that they cannot drift apart: the compiled rules (compile.ts,
 * which decide) and json-rules-engine (reference.ts, the reference they are checked against) use
 * the same operators, path lookups, completeness check and wording of values and trace lines.
 */

export interface Evaluation {
  decision: Decision
  reasons: Reason[]
  alerts: Alert[]
  fired: string[]
  /** Every rule that produced a definite result, in the order of the set: all of them, or the evaluation is void. */
  evaluated: readonly string[]
  trace?: TraceRule[]
}

/** Evaluates a rule set against facts (compiled, or json-rules-engine); the decision service checks the result is complete. */
export type Evaluate = (ruleSet: RuleSet, facts: Facts, options?: { explain?: boolean | undefined }) => Evaluation | Promise<Evaluation>

/** Throws EvaluationError unless every rule of the set, and nothing else, produced a result. */
export function checkComplete(ruleSet: RuleSet, evaluated: readonly string[]): void {
  const missing = ruleSet.rules.find((rule, i) => evaluated[i] !== rule.definition.name)
  if (missing || evaluated.length !== ruleSet.rules.length) {
    throw new EvaluationError(
      `${evaluated.length} results for ${ruleSet.rules.length} rules${missing ? `; rule ${missing.definition.name} has none` : ''}`,
    )
  }
}

/** A run that did not produce a definite result for every rule. Never turned into an allow. */
export class EvaluationError extends Error {
  override name = 'EvaluationError'
}

const finite = (x: unknown): x is number => Number.isFinite(x)
const numeric = (compare: (a: number, b: number) => boolean) => (a: unknown, b: unknown) => finite(a) && finite(b) && compare(a, b)

/**
 * The ten operators, fact value first. json-rules-engine's own numeric operators coerce: 63400 >
 * null is true in JavaScript, which would block every contact without a credit limit. Ours compare
 * numbers only; a missing side is false. The list operators check that the list is one. The
 * compiled evaluator (compile.ts) and json-rules-engine both call these very functions.
 */
export const COMPARISONS: { readonly [K in OperatorName]: (factValue: unknown, value: unknown) => boolean } = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  lessThan: numeric((a, b) => a < b),
  lessThanInclusive: numeric((a, b) => a <= b),
  greaterThan: numeric((a, b) => a > b),
  greaterThanInclusive: numeric((a, b) => a >= b),
  in: (a, b) => Array.isArray(b) && b.includes(a),
  notIn: (a, b) => Array.isArray(b) && !b.includes(a),
  contains: (a, b) => Array.isArray(a) && a.includes(b),
  doesNotContain: (a, b) => Array.isArray(a) && !a.includes(b),
}

const PATH_STEP = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g

/** "$.a.b[0]" → ["a", "b", 0]; the rule schema admits no other path syntax. */
export const pathSteps = (path: string): (string | number)[] => [...path.matchAll(PATH_STEP)].map((step) => step[1] ?? Number(step[2]))

/** Follows the steps through own properties only; anything else on the way is undefined. */
export function resolveSteps(value: unknown, steps: readonly (string | number)[]): unknown {
  let current = value
  for (const key of steps) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined
    current = (current as Record<string | number, unknown>)[key]
  }
  return current
}

/** "$.a.b[0]" lookups. */
export const resolvePath = (value: unknown, path: string): unknown => resolveSteps(value, pathSteps(path))

/** Shows a fact value the way people read it: amounts as 62,400.00, null as "none". */
export function formatFact(fact: string, value: unknown): string {
  if (value === null) return 'none'
  if (value === undefined) return 'missing'
  if (typeof value === 'number') return FACTS[fact as FactName]?.kind === 'amount' ? formatAmount(value) : String(value)
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

export function renderMessage(template: string, facts: Facts): string {
  return template.replace(PLACEHOLDER, (_, name: string) => formatFact(name, facts[name as FactName]))
}

/** What one comparison saw: the fact's value, what it was compared with, and the outcome. */
export interface LeafOutcome {
  factResult?: unknown
  valueResult?: unknown
  result?: boolean | undefined
}

/** One comparison in the explain trace, with the values it saw (none: "not evaluated"). */
export function traceCondition(leaf: ConditionLeaf, at: string, outcome: LeafOutcome): TraceCondition {
  const ref = factReference(leaf.value)
  const evaluated = typeof outcome.result === 'boolean'
  const left = `${leaf.fact}${leaf.path ? ` ${leaf.path}` : ''} (${evaluated ? formatFact(leaf.fact, outcome.factResult) : 'not evaluated'})`
  const right = ref
    ? `${ref.fact}${ref.path ? ` ${ref.path}` : ''} (${formatFact(ref.fact, outcome.valueResult)})`
    : Array.isArray(leaf.value)
      ? JSON.stringify(leaf.value)
      : formatFact(leaf.fact, leaf.value)
  return {
    at,
    fact: leaf.fact,
    path: leaf.path,
    operator: leaf.operator,
    value: leaf.value,
    fact_value: evaluated ? (outcome.factResult ?? null) : null,
    compared_with: evaluated ? (outcome.valueResult ?? null) : null,
    result: evaluated ? (outcome.result as boolean) : null,
    text: `${left} ${leaf.operator} ${right} → ${evaluated ? outcome.result : 'not evaluated'}`,
  }
}
