import type { Alert, Decision, EventType, Reason, TraceRule } from '../domain/decision.js'
import type { Facts } from '../domain/facts.js'
import { FACTS, type FactName } from './catalogue.js'
import { PLACEHOLDER, type RuleSet, walkConditions } from './rule-set.js'
import { type ConditionLeaf, type ConditionNode, factReference } from './schema.js'
import {
  COMPARISONS,
  type Evaluation,
  EvaluationError,
  formatFact,
  type LeafOutcome,
  pathSteps,
  resolveSteps,
  traceCondition,
} from './semantics.js'

/**
 * The rule compiler: a validated rule set becomes plain synchronous functions, once per set, and
 * decisions call them directly (no engine, almanac or promise per condition). The semantics are
 * json-rules-engine's as creditgate configures it (reference.ts), which stays the reference: the
 * same ten comparison functions, a `path` read only inside an object (any other value is read as
 * it is), and every comparison of a rule evaluated when a trace is asked for. A differential test
 * (test/unit/rules-compile-differential.test.ts) and RULES_VERIFY_SAMPLE in production hold the two together.
 */

type FactMap = Readonly<Record<string, unknown>>
type Read = (facts: FactMap) => unknown

interface CompiledNode {
  /** The outcome, stopping as soon as it is settled. */
  test(facts: FactMap): boolean
  /** The outcome with every comparison evaluated and recorded in walk order, as json-rules-engine does. */
  explain(facts: FactMap, out: LeafOutcome[]): boolean
}

export interface CompiledRule {
  readonly name: string
  readonly file: string
  readonly type: EventType
  readonly code: string
  readonly test: (facts: FactMap) => boolean
  readonly explain: (facts: FactMap, out: LeafOutcome[]) => boolean
  readonly message: (facts: FactMap) => string
  readonly leaves: readonly { readonly leaf: ConditionLeaf; readonly at: string }[]
}

export interface CompiledRuleSet {
  readonly version: string
  readonly rules: readonly CompiledRule[]
  /** Every rule's name in the order of the set: what a complete evaluation reports. */
  readonly names: readonly string[]
}

function reader(fact: FactName, path: string | undefined): Read {
  if (!Object.hasOwn(FACTS, fact)) throw new Error(`unknown fact "${fact}"`)
  if (!path) return (facts) => facts[fact]
  const steps = pathSteps(path)
  return (facts) => {
    const value = facts[fact]
    // json-rules-engine follows a path only inside an object; any other value is read as it is.
    return value !== null && typeof value === 'object' ? resolveSteps(value, steps) : value
  }
}

function compileLeaf(leaf: ConditionLeaf): CompiledNode {
  if (!Object.hasOwn(COMPARISONS, leaf.operator)) throw new Error(`unknown operator "${leaf.operator}"`)
  const compare = COMPARISONS[leaf.operator]
  const left = reader(leaf.fact, leaf.path)
  const ref = factReference(leaf.value)
  if (ref) {
    const right = reader(ref.fact, ref.path)
    return {
      test: (facts) => compare(left(facts), right(facts)),
      explain(facts, out) {
        const factResult = left(facts)
        const valueResult = right(facts)
        const result = compare(factResult, valueResult)
        out.push({ factResult, valueResult, result })
        return result
      },
    }
  }
  const value = leaf.value
  return {
    test: (facts) => compare(left(facts), value),
    explain(facts, out) {
      const factResult = left(facts)
      const result = compare(factResult, value)
      out.push({ factResult, valueResult: value, result })
      return result
    },
  }
}

type Test = (facts: FactMap) => boolean

/** a && b && …, with the common short groups written out. */
function every(tests: Test[]): Test {
  const [a, b, c] = tests as [Test, Test, Test]
  if (tests.length === 2) return (facts) => a(facts) && b(facts)
  if (tests.length === 3) return (facts) => a(facts) && b(facts) && c(facts)
  return (facts) => tests.every((test) => test(facts))
}

/** a || b || …, likewise. */
function some(tests: Test[]): Test {
  const [a, b, c] = tests as [Test, Test, Test]
  if (tests.length === 2) return (facts) => a(facts) || b(facts)
  if (tests.length === 3) return (facts) => a(facts) || b(facts) || c(facts)
  return (facts) => tests.some((test) => test(facts))
}

function compileNode(node: ConditionNode): CompiledNode {
  const all = 'all' in node
  if (!all && !('any' in node)) {
    if (!('not' in node)) return compileLeaf(node)
    const inner = compileNode(node.not)
    return { test: (facts) => !inner.test(facts), explain: (facts, out) => !inner.explain(facts, out) }
  }
  const children = (all ? node.all : node.any).map(compileNode)
  if (children.length === 0) throw new Error('an empty condition group')
  // One condition: all and any are that condition (json-rules-engine does the same).
  if (children.length === 1) return children[0] as CompiledNode
  return {
    test: all ? every(children.map((c) => c.test)) : some(children.map((c) => c.test)),
    explain(facts, out) {
      // Every child is evaluated: the trace shows each comparison's values.
      const results = children.map((c) => c.explain(facts, out))
      return all ? results.every(Boolean) : results.some(Boolean)
    },
  }
}

/** "{{credit_limit}} of {{outstanding_bcy}}" → a function of the facts; amounts formatted as renderMessage does. */
function compileMessage(template: string): (facts: FactMap) => string {
  const texts: string[] = []
  const names: string[] = []
  let from = 0
  for (const match of template.matchAll(PLACEHOLDER)) {
    texts.push(template.slice(from, match.index))
    names.push(match[1] as string)
    from = match.index + match[0].length
  }
  const last = template.slice(from)
  if (names.length === 0) return () => template
  // The last values quoted and the text they gave: a contact's amounts repeat from one decision to the next.
  const seen: unknown[] = names.map(() => Symbol('none'))
  let text = ''
  return (facts) => {
    let same = true
    for (let i = 0; i < names.length && same; i++) {
      const value = facts[names[i] as string]
      // Objects may change inside: only values that are what they are count as the same.
      same = Object.is(value, seen[i]) && (typeof value !== 'object' || value === null)
    }
    if (same) return text
    text = ''
    for (let i = 0; i < names.length; i++) {
      const value = facts[names[i] as string]
      seen[i] = value
      text += texts[i] + formatFact(names[i] as string, value)
    }
    text += last
    return text
  }
}

function compileRules(ruleSet: RuleSet): CompiledRuleSet {
  const rules = ruleSet.rules.map(({ file, type, definition }): CompiledRule => {
    const root = compileNode(definition.conditions)
    const leaves: { leaf: ConditionLeaf; at: string }[] = []
    walkConditions(definition.conditions, '', (leaf, at) => leaves.push({ leaf, at }))
    return {
      name: definition.name,
      file,
      type,
      code: definition.event.params.code,
      test: root.test,
      explain: root.explain,
      message: compileMessage(definition.event.params.message),
      leaves,
    }
  })
  const names = rules.map((r) => r.name)
  const twice = names.find((name, i) => names.indexOf(name) !== i)
  if (twice) throw new Error(`rule ${twice} appears twice: its result would be ambiguous`)
  return Object.freeze({ version: ruleSet.version, rules, names: Object.freeze(names) })
}

const cache = new WeakMap<RuleSet, CompiledRuleSet>()

/** The set's compiled form: compiled on first use (the rules manager does it at load), then kept with the set. */
export function compiled(ruleSet: RuleSet): CompiledRuleSet {
  let known = cache.get(ruleSet)
  if (!known) {
    try {
      known = compileRules(ruleSet)
    } catch (err) {
      // A set that cannot be compiled cannot be evaluated: never an allow.
      throw new EvaluationError(`the rules could not be compiled: ${(err as Error).message}`)
    }
    cache.set(ruleSet, known)
  }
  return known
}

/**
 * Evaluates every rule of the set with its compiled functions. Every rule yields a result; a rule
 * that cannot be evaluated throws EvaluationError, which is never an allow.
 */
export function evaluateCompiled(ruleSet: RuleSet, facts: Facts, options: { explain?: boolean | undefined } = {}): Evaluation {
  const set = compiled(ruleSet)
  const input = facts as unknown as FactMap
  const reasons: Reason[] = []
  const alerts: Alert[] = []
  const fired: string[] = []
  const trace: TraceRule[] | undefined = options.explain ? [] : undefined
  let block = false
  let current: CompiledRule | undefined
  try {
    for (const rule of set.rules) {
      current = rule
      let result: boolean
      if (trace) {
        const out: LeafOutcome[] = []
        result = rule.explain(input, out)
        trace.push({
          rule: rule.name,
          file: rule.file,
          type: rule.type,
          fired: result,
          conditions: rule.leaves.map(({ leaf, at }, i) => traceCondition(leaf, at, out[i] ?? {})),
        })
      } else {
        result = rule.test(input)
      }
      if (typeof result !== 'boolean') throw new Error(`a result of type ${typeof result}`)
      if (!result) continue
      fired.push(rule.name)
      const message = rule.message(input)
      if (rule.type === 'alert') alerts.push({ rule: rule.name, code: rule.code, message })
      else {
        if (rule.type === 'block') block = true
        reasons.push({ rule: rule.name, code: rule.code, severity: rule.type, message })
      }
    }
  } catch (err) {
    throw new EvaluationError(`rule ${current?.name} could not be evaluated: ${(err as Error).message}`)
  }
  const decision: Decision = block ? 'block' : reasons.length > 0 ? 'review' : 'allow'
  return { decision, reasons, alerts, fired, evaluated: set.names, ...(trace ? { trace } : {}) }
}
