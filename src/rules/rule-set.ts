import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { EventType } from '../domain/decision.js'
import type { FieldsRead } from '../domain/history.js'
import { deepFreeze } from '../lib/deep-freeze.js'
import { exceeded, jsonPath, RULE_LIMITS } from './bounds.js'
import {
  CONTACT_FIELDS,
  FACTS,
  type FactName,
  GROUP_FACTS,
  OPERATORS,
  type OperatorName,
  PAYMENT_FACTS,
  RECEIVABLES_FACTS,
} from './catalogue.js'
import { type ConditionLeaf, type ConditionNode, factReference, type RuleFile, RuleFileSchema } from './schema.js'

/** A problem with a rule file, as operators need to see it: which file, where in it, what. */
export const RuleErrorSchema = z
  .object({
    file: z.string(),
    path: z.string().describe('JSON path in the file, e.g. $.conditions.all[0].fact'),
    message: z.string(),
  })
  .meta({ id: 'RuleError' })

export type RuleError = z.output<typeof RuleErrorSchema>

export interface LoadedRule {
  readonly file: string
  readonly definition: RuleFile
  readonly type: EventType
}

/** An immutable, validated set of rules. Evaluations share it; nothing mutates it. */
export interface RuleSet {
  readonly version: string
  readonly loadedAt: string
  readonly rules: readonly LoadedRule[]
  /**
   * Everything any condition or message reads (fact, and path into it): the only inputs a
   * decision depends on. Two evaluations with equal inputs under one version are equal.
   */
  readonly inputs: readonly RuleInput[]
}

/** A candidate rule file: its name and either its text or its parsed JSON. */
export interface RuleSource {
  readonly file: string
  readonly content: string | unknown
}

export interface RuleInput {
  readonly fact: FactName
  readonly path?: string | undefined
}

export type Compiled = { ok: true; ruleSet: RuleSet } | { ok: false; errors: RuleError[] }

/** Whether any rule or message of the set reads a receivables fact (then the listings are kept). */
export const usesReceivables = (ruleSet: RuleSet) => ruleSet.inputs.some((input) => RECEIVABLES_FACTS.has(input.fact))

/** Whether any rule or message of the set reads a payment fact (then the paid invoices are kept). */
export const usesPayments = (ruleSet: RuleSet | undefined) => ruleSet?.inputs.some((input) => PAYMENT_FACTS.has(input.fact)) ?? false
/** Whether the set reads group_exposure_bcy: only then are the group's contacts listed. */
export const usesGroup = (ruleSet: RuleSet | undefined) => ruleSet?.inputs.some((input) => GROUP_FACTS.has(input.fact)) ?? false

/** The field a path starts with: "$.cf_credit_hold" → "cf_credit_hold" (undefined for "$[0]" or no path). */
export const pathHead = (path: string | undefined) => (path ? /^\$\.([A-Za-z_][A-Za-z0-9_]*)/.exec(path)?.[1] : undefined)

const fieldsRead = new WeakMap<RuleSet, FieldsRead>()

/**
 * The custom fields the sets' conditions read (`custom_fields` always with a path "$.cf_…"; a
 * message cannot quote the whole object): what a decision's record keeps of them whole.
 */
export function customFieldsRead(...ruleSets: readonly (RuleSet | undefined)[]): FieldsRead {
  const names = new Set<string>()
  for (const ruleSet of ruleSets) {
    if (!ruleSet) continue
    let read = fieldsRead.get(ruleSet)
    if (!read) {
      read = new Set(ruleSet.inputs.flatMap(({ fact, path }) => (fact === 'custom_fields' ? [pathHead(path) ?? ''] : [])))
      fieldsRead.set(ruleSet, read)
    }
    for (const name of read) names.add(name)
  }
  return names
}

/** Rule files in one set. */
export const MAX_RULES = 500
export const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g

/** Validates a whole candidate set; returns it frozen and versioned, or every error found. */
export function compileRuleSet(sources: readonly RuleSource[], now = new Date()): Compiled {
  const errors: RuleError[] = []
  const rules: LoadedRule[] = []
  if (sources.length === 0) {
    errors.push({ file: '(rules)', path: '$', message: 'the set has no rules; an empty set would allow every order' })
  }
  if (sources.length > MAX_RULES) {
    errors.push({ file: '(rules)', path: '$', message: `${sources.length} rule files; a set may have at most ${MAX_RULES}` })
    return { ok: false, errors }
  }
  for (const source of sources) {
    const parsed = parseJson(source.file, source.content)
    if ('error' in parsed) {
      errors.push(parsed.error)
      continue
    }
    const tooMuch = exceeded(parsed.value, RULE_LIMITS)
    if (tooMuch) {
      errors.push({ file: source.file, ...tooMuch })
      continue
    }
    const result = RuleFileSchema.safeParse(parsed.value)
    if (!result.success) {
      errors.push(...zodErrors(source.file, result.error.issues))
      continue
    }
    const found = checkRule(source.file, result.data)
    if (found.length > 0) errors.push(...found)
    else rules.push({ file: source.file, definition: result.data, type: result.data.event.type })
  }
  const seen = new Map<string, string>()
  for (const rule of rules) {
    const other = seen.get(rule.definition.name)
    if (other) errors.push({ file: rule.file, path: '$.name', message: `rule name "${rule.definition.name}" is also used by ${other}` })
    seen.set(rule.definition.name, rule.file)
  }
  if (errors.length > 0) return { ok: false, errors }
  return { ok: true, ruleSet: ruleSetOf(rules, now) }
}

/** Rules already validated, as a frozen, versioned set with the inputs they read. */
export function ruleSetOf(rules: readonly LoadedRule[], now = new Date()): RuleSet {
  const inputs = new Map<string, RuleInput>()
  for (const rule of rules) collectInputs(rule.definition, inputs)
  const version = `sha256:${createHash('sha256')
    .update(JSON.stringify(rules.map((r) => [r.file, r.definition])))
    .digest('hex')}`
  return deepFreeze({
    version,
    loadedAt: now.toISOString(),
    rules,
    inputs: [...inputs.keys()].sort().map((k) => inputs.get(k) as RuleInput),
  })
}

/** The parsed document, or an error that says where (line, column) but never quotes the file. */
export function parseJson(file: string, content: string | unknown): { value: unknown } | { error: RuleError } {
  if (typeof content !== 'string') return { value: content }
  try {
    return { value: JSON.parse(content) }
  } catch (err) {
    return { error: { file, path: '$', message: `not valid JSON: ${jsonErrorWhere(content, err as Error)}` } }
  }
}

/** "Expected ',' … in JSON at position 120" → "Expected ',' … (line 7, column 3)"; nothing of the file's text. */
function jsonErrorWhere(text: string, err: Error): string {
  const at = /^(.*) in JSON at position (\d+)/.exec(err.message)
  if (!at) return /^Unexpected end/.test(err.message) ? 'it ends before the JSON does' : 'unexpected text: this is not a JSON document'
  const before = text.slice(0, Number(at[2]))
  return `${at[1]} (line ${before.split('\n').length}, column ${Number(at[2]) - before.lastIndexOf('\n')})`
}

/**
 * Turns zod issues into operator-readable errors. For a union (a condition is a comparison or a
 * group), report the branch that got furthest: that is the one the author meant.
 */
function zodErrors(file: string, issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): RuleError[] {
  const out: RuleError[] = []
  for (const issue of issues) {
    const at = [...base, ...issue.path]
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((branch) => zodErrors(file, branch, at))
      const depth = (errs: RuleError[]) => Math.max(...errs.map((e) => e.path.length))
      branches.sort((a, b) => depth(b) - depth(a) || a.length - b.length)
      out.push(...(branches[0] ?? []))
    } else if (issue.code === 'unrecognized_keys') {
      out.push({
        file,
        path: jsonPath(at),
        message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
      })
    } else {
      out.push({ file, path: jsonPath(at), message: issue.message })
    }
  }
  return out
}

type ValueType = 'number' | 'string' | 'boolean' | 'any' | 'object'

/** What a fact (with its path) yields: a number, a string, or anything (a field inside an object). */
function factType(fact: FactName, path: string | undefined): { type: ValueType; nullable: boolean } | string {
  const info = FACTS[fact]
  if (info.kind === 'object') {
    if (!path)
      return `the fact "${fact}" is an object: add a "path", e.g. ${fact === 'contact' ? '"$.payment_terms"' : '"$.cf_credit_hold"'}`
    const first = pathHead(path) ?? ''
    if (fact === 'contact' && !CONTACT_FIELDS.has(first)) return `unknown contact field "${first}" in path "${path}"`
    if (fact === 'custom_fields' && !first.startsWith('cf_')) return `custom field names start with "cf_": "${first}" in path "${path}"`
    return { type: 'any', nullable: true }
  }
  if (path) return `the fact "${fact}" is a single value and takes no "path"`
  return { type: info.kind === 'amount' ? 'number' : info.kind, nullable: info.nullable }
}

const typeOf = (value: unknown): ValueType =>
  value === null
    ? 'any'
    : typeof value === 'number'
      ? 'number'
      : typeof value === 'string'
        ? 'string'
        : typeof value === 'boolean'
          ? 'boolean'
          : 'object'

function checkCondition(c: ConditionLeaf): { path: string; message: string }[] {
  const left = factType(c.fact, c.path)
  if (typeof left === 'string') return [{ path: c.path ? '.path' : '.fact', message: left }]
  const op: OperatorName = c.operator
  const shape = OPERATORS[op].shape
  const ref = factReference(c.value)
  let right: { type: ValueType; nullable: boolean }
  if (ref) {
    const resolved = factType(ref.fact, ref.path)
    if (typeof resolved === 'string') return [{ path: '.value', message: resolved }]
    right = resolved
  } else {
    right = { type: Array.isArray(c.value) ? 'object' : typeOf(c.value), nullable: c.value === null }
  }
  const fits = (a: ValueType, b: ValueType) => a === 'any' || b === 'any' || a === b
  switch (shape) {
    case 'numeric':
      if (!fits(left.type, 'number')) return [{ path: '.operator', message: `${op} compares numbers, but "${c.fact}" is a ${left.type}` }]
      if (c.value === null || !fits(right.type, 'number') || right.type === 'object')
        return [{ path: '.value', message: `${op} needs a number to compare with, e.g. 50000 (no quotes, no thousands separators)` }]
      return []
    case 'same':
      if (Array.isArray(c.value))
        return [{ path: '.value', message: `${op} compares with one value; to compare with a list use "in" or "notIn"` }]
      if (c.value === null && !left.nullable && left.type !== 'any') return [{ path: '.value', message: `"${c.fact}" is never null` }]
      if (!fits(left.type, right.type))
        return [{ path: '.value', message: `"${c.fact}" is a ${left.type}, but the value is a ${right.type}` }]
      return []
    case 'list': {
      if (!Array.isArray(c.value)) return [{ path: '.value', message: `${op} needs a list of values, e.g. ["active", "inactive"]` }]
      const wrong = c.value.findIndex((v) => !fits(left.type, typeOf(v)))
      return wrong >= 0
        ? [{ path: `.value[${wrong}]`, message: `"${c.fact}" is a ${left.type}, but this value is a ${typeOf(c.value[wrong])}` }]
        : []
    }
    case 'member':
      if (left.type !== 'any')
        return [
          { path: '.fact', message: `${op} looks inside a list, e.g. fact "contact" with path "$.tags"; "${c.fact}" is a ${left.type}` },
        ]
      if (Array.isArray(c.value) || ref) return [{ path: '.value', message: `${op} needs one value to look for` }]
      return []
  }
}

function checkRule(file: string, rule: RuleFile): RuleError[] {
  const errors: RuleError[] = []
  walkConditions(rule.conditions, '$.conditions', (leaf, at) => {
    for (const e of checkCondition(leaf)) errors.push({ file, path: at + e.path, message: e.message })
  })
  for (const [, name] of rule.event.params.message.matchAll(PLACEHOLDER)) {
    const info = Object.hasOwn(FACTS, name as string) ? FACTS[name as FactName] : undefined
    if (!info || info.kind === 'object') {
      errors.push({ file, path: '$.event.params.message', message: `{{${name}}} is not a fact the message can quote` })
    }
  }
  return errors
}

/** Visits every comparison of a condition tree with where it sits ("all[0].not", after `at`). */
export function walkConditions(node: ConditionNode, at: string, visit: (leaf: ConditionLeaf, at: string) => void): void {
  const step = (name: string) => (at ? `${at}.${name}` : name)
  if ('all' in node) for (const [i, child] of node.all.entries()) walkConditions(child, step(`all[${i}]`), visit)
  else if ('any' in node) for (const [i, child] of node.any.entries()) walkConditions(child, step(`any[${i}]`), visit)
  else if ('not' in node) walkConditions(node.not, step('not'), visit)
  else visit(node, at)
}

function collectInputs(rule: RuleFile, into: Map<string, RuleInput>): void {
  const add = (fact: FactName, path?: string) => into.set(`${fact}${path ?? ''}`, path ? { fact, path } : { fact })
  walkConditions(rule.conditions, '', (leaf) => {
    add(leaf.fact, leaf.path)
    const ref = factReference(leaf.value)
    if (ref) add(ref.fact, ref.path)
  })
  for (const [, name] of rule.event.params.message.matchAll(PLACEHOLDER)) add(name as FactName)
}
