import { Engine, Operator, type RuleProperties, type RuleResult } from 'json-rules-engine'
import type { Alert, Decision, Reason, TraceCondition, TraceRule } from '../domain/decision.js'
import type { Facts } from '../domain/facts.js'
import { formatAmount } from '../lib/format.js'
import { FACTS, type FactName } from './catalogue.js'
import { PLACEHOLDER, type RuleSet, walkConditions } from './rule-set.js'
import { type ConditionLeaf, type ConditionNode, factReference } from './schema.js'

export interface Evaluation {
  decision: Decision
  reasons: Reason[]
  alerts: Alert[]
  fired: string[]
  /** Every rule that produced a definite result, in the order of the set: all of them, or the evaluation is void. */
  evaluated: string[]
  trace?: TraceRule[]
}

/** Evaluates a rule set against facts: json-rules-engine here; the decision service checks the result is complete. */
export type Evaluate = (ruleSet: RuleSet, facts: Facts, options?: { explain?: boolean | undefined }) => Promise<Evaluation>

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

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)
const numeric = (compare: (a: number, b: number) => boolean) => (a: unknown, b: unknown) => finite(a) && finite(b) && compare(a, b)

/**
 * json-rules-engine's own numeric operators coerce: 63400 > null is true in JavaScript, which
 * would block every contact without a credit limit. Ours compare numbers only; a missing side is
 * false. The list operators check that the list is one.
 */
const OPERATORS = [
  new Operator('equal', (a, b) => a === b),
  new Operator('notEqual', (a, b) => a !== b),
  new Operator(
    'lessThan',
    numeric((a, b) => a < b),
  ),
  new Operator(
    'lessThanInclusive',
    numeric((a, b) => a <= b),
  ),
  new Operator(
    'greaterThan',
    numeric((a, b) => a > b),
  ),
  new Operator(
    'greaterThanInclusive',
    numeric((a, b) => a >= b),
  ),
  new Operator('in', (a, b) => Array.isArray(b) && b.includes(a)),
  new Operator('notIn', (a, b) => Array.isArray(b) && !b.includes(a)),
  new Operator('contains', (a, b) => Array.isArray(a) && a.includes(b)),
  new Operator('doesNotContain', (a, b) => Array.isArray(a) && !a.includes(b)),
]

const PATH_STEP = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g

/** "$.a.b[0]" lookups; the rule schema admits no other path syntax. */
export function resolvePath(value: unknown, path: string): unknown {
  let current = value
  for (const step of path.matchAll(PATH_STEP)) {
    if (current === null || typeof current !== 'object') return undefined
    const key = step[1] ?? Number(step[2])
    if (!Object.hasOwn(current, key)) return undefined
    current = (current as Record<string | number, unknown>)[key]
  }
  return current
}

const ENGINE_OPTIONS = { allowUndefinedFacts: false, pathResolver: resolvePath }

/** A json-rules-engine Engine for one evaluation. Engines keep run state: never share one. */
export function createEngine(ruleSet: RuleSet): Engine {
  const engine = new Engine(
    ruleSet.rules.map((r) => r.definition as unknown as RuleProperties),
    ENGINE_OPTIONS,
  )
  for (const operator of OPERATORS) engine.addOperator(operator)
  return engine
}

/** Evaluates every rule of the set against the facts, with an engine of its own. */
export const evaluate: Evaluate = async (ruleSet, facts, options = {}) => {
  // Only the facts the rules read: the engine hashes every fact it is given, on every run.
  const needed: Record<string, unknown> = {}
  for (const { fact } of ruleSet.inputs) needed[fact] = facts[fact]
  const { results, failureResults } = await createEngine(ruleSet).run(needed)
  return summarise(ruleSet, facts, [...results, ...failureResults], options)
}

/**
 * Turns the engine's rule results into a decision. Every rule of the set must have exactly one
 * definite result: anything less throws EvaluationError, and is never an allow.
 */
export function summarise(
  ruleSet: RuleSet,
  facts: Facts,
  results: readonly RuleResult[],
  options: { explain?: boolean | undefined } = {},
): Evaluation {
  const outcomes = new Map<string, RuleResult>()
  for (const result of results) {
    if (outcomes.has(result.name)) throw new EvaluationError(`rule ${result.name} produced two results`)
    outcomes.set(result.name, result)
  }
  const reasons: Reason[] = []
  const alerts: Alert[] = []
  const fired: string[] = []
  const evaluated: string[] = []
  const trace: TraceRule[] = []
  for (const rule of ruleSet.rules) {
    const { name, event } = rule.definition
    const outcome = outcomes.get(name)
    if (!outcome || typeof outcome.result !== 'boolean') {
      throw new EvaluationError(`rule ${name} produced no result (${outcomes.size} of ${ruleSet.rules.length} rules did)`)
    }
    evaluated.push(name)
    if (outcome.result) {
      fired.push(name)
      const message = renderMessage(event.params.message, facts)
      if (rule.type === 'alert') alerts.push({ rule: name, code: event.params.code, message })
      else reasons.push({ rule: name, code: event.params.code, severity: rule.type, message })
    }
    if (options.explain) {
      const conditions: TraceCondition[] = []
      traceConditions(outcome.conditions as unknown as ConditionNode, conditions)
      trace.push({ rule: name, file: rule.file, type: rule.type, fired: outcome.result, conditions })
    }
  }
  const decision: Decision = reasons.some((r) => r.severity === 'block') ? 'block' : reasons.length > 0 ? 'review' : 'allow'
  return { decision, reasons, alerts, fired, evaluated, ...(options.explain ? { trace } : {}) }
}

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

type EvaluatedLeaf = ConditionLeaf & { factResult?: unknown; valueResult?: unknown; result?: boolean }

function traceConditions(node: ConditionNode, out: TraceCondition[]): void {
  walkConditions(node, '', (condition, at) => {
    // json-rules-engine writes each comparison's outcome onto the result's copy of the condition.
    const leaf = condition as EvaluatedLeaf
    const ref = factReference(leaf.value)
    const evaluated = typeof leaf.result === 'boolean'
    const left = `${leaf.fact}${leaf.path ? ` ${leaf.path}` : ''} (${evaluated ? formatFact(leaf.fact, leaf.factResult) : 'not evaluated'})`
    const right = ref
      ? `${ref.fact}${ref.path ? ` ${ref.path}` : ''} (${formatFact(ref.fact, leaf.valueResult)})`
      : Array.isArray(leaf.value)
        ? JSON.stringify(leaf.value)
        : formatFact(leaf.fact, leaf.value)
    out.push({
      at,
      fact: leaf.fact,
      path: leaf.path,
      operator: leaf.operator,
      value: leaf.value,
      fact_value: evaluated ? (leaf.factResult ?? null) : null,
      compared_with: evaluated ? (leaf.valueResult ?? null) : null,
      result: evaluated ? (leaf.result as boolean) : null,
      text: `${left} ${leaf.operator} ${right} → ${evaluated ? leaf.result : 'not evaluated'}`,
    })
  })
}
