import { Engine, Operator, type RuleProperties, type RuleResult } from 'json-rules-engine'
import type { Alert, Decision, Reason, TraceCondition, TraceRule } from '../domain/decision.js'
import type { Facts } from '../domain/facts.js'
import { type RuleSet, walkConditions } from './rule-set.js'
import type { ConditionNode } from './schema.js'
import { COMPARISONS, type Evaluation, EvaluationError, type LeafOutcome, renderMessage, resolvePath, traceCondition } from './semantics.js'

/**
 * json-rules-engine as creditgate configures it: the reference the compiled rules (compile.ts) are
 * held to, by the differential test and by RULES_VERIFY_SAMPLE in production. Its operators and
 * path lookups are the shared ones (semantics.ts).
 */

const OPERATORS = Object.entries(COMPARISONS).map(([name, compare]) => new Operator(name, compare))

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

/** Evaluates every rule of the set against the facts with json-rules-engine, an engine of its own per run: the reference. */
export const evaluate = async (ruleSet: RuleSet, facts: Facts, options: { explain?: boolean | undefined } = {}): Promise<Evaluation> => {
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
  // Only when asked for: a trace costs a walk of every rule's conditions.
  const trace: TraceRule[] | undefined = options.explain ? [] : undefined
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
    if (trace) {
      const conditions: TraceCondition[] = []
      traceConditions(outcome.conditions as unknown as ConditionNode, conditions)
      trace.push({ rule: name, file: rule.file, type: rule.type, fired: outcome.result, conditions })
    }
  }
  const decision: Decision = reasons.some((r) => r.severity === 'block') ? 'block' : reasons.length > 0 ? 'review' : 'allow'
  return { decision, reasons, alerts, fired, evaluated, ...(trace ? { trace } : {}) }
}

function traceConditions(node: ConditionNode, out: TraceCondition[]): void {
  // json-rules-engine writes each comparison's outcome onto the result's copy of the condition.
  walkConditions(node, '', (condition, at) => out.push(traceCondition(condition, at, condition as LeafOutcome)))
}
