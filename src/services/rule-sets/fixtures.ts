import { z } from 'zod'
import { MAX_AMOUNT, parseContact } from '../../domain/contact.js'
import { DECISIONS } from '../../domain/decision.js'
import { buildFacts } from '../../domain/facts.js'
import { FIXTURE_TODAY, SuppliedPaymentsSchema, SuppliedTodaySchema, suppliedPayments } from '../../domain/payments.js'
import { SuppliedReceivablesSchema, suppliedReceivables } from '../../domain/receivables.js'
import { exceeded, FIXTURE_LIMITS, jsonPath } from '../../rules/bounds.js'
import { CONTACT_FIELDS } from '../../rules/catalogue.js'
import { evaluateCompiled } from '../../rules/compile.js'
import { evaluate } from '../../rules/reference.js'
import { type Compiled, compileRuleSet, parseJson, type RuleError, type RuleSet, type RuleSource } from '../../rules/rule-set.js'
import { readRulesFolder } from './sources.js'

/**
 * Fixture tests: named cases of contact fields (+ an order) and the decision they must get.
 * A rule change goes live only when every case in rules/tests/ still passes.
 */

const codes = z.array(z.string()).describe('Codes expected, in any order; [] for none. Omit to not check.')

export const FixtureCaseSchema = z.strictObject({
  name: z.string().min(1).describe('What the case shows, e.g. "exactly 50,000.00 is not over 50,000"'),
  contact: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Zoho contact fields; the rest are those of an active customer with nothing outstanding'),
  order: z.strictObject({ amount: z.number().min(0) }).optional(),
  receivables: SuppliedReceivablesSchema.optional(),
  payments: SuppliedPaymentsSchema.optional(),
  group: z
    .strictObject({ others_bcy: z.number().min(0).max(MAX_AMOUNT) })
    .optional()
    .describe('group_exposure_bcy: the linked customers’ outstanding in the group’s other organizations, converted (default 0)'),
  today: SuppliedTodaySchema.optional().describe(`The day review and limit dates are compared with; default ${FIXTURE_TODAY}`),
  expect: z.strictObject({
    decision: z.enum(DECISIONS),
    reasons: codes.optional(),
    alerts: codes.optional(),
  }),
})

export const FixtureFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    description: z.string().optional(),
    cases: z.array(FixtureCaseSchema).min(1),
  })
  .describe('creditgate rule fixtures')

export type FixtureCase = z.output<typeof FixtureCaseSchema>

export const FixtureReportSchema = z
  .object({
    passed: z.number().int().describe('Cases that passed'),
    failures: z.array(z.object({ file: z.string(), case: z.string(), message: z.string() })),
  })
  .meta({ id: 'FixtureReport' })

export type FixtureReport = z.output<typeof FixtureReportSchema>
export type FixtureFailure = FixtureReport['failures'][number]

/** A validated set and its fixture report: the set may go live only if `ok`. */
export type Prepared =
  | { ok: true; ruleSet: RuleSet; fixtures: FixtureReport }
  | { ok: false; errors: RuleError[]; fixtures: FixtureReport; ruleSet?: RuleSet }

const NO_FIXTURES: FixtureReport = { passed: 0, failures: [] }
/** Cases in all fixture files of a set: every one runs against every rule before a change goes live. */
export const MAX_FIXTURE_CASES = 2_000

/** Reads, validates and tests the set in a rules folder (with `check`, e.g. off the event loop). Nothing is activated here. */
export async function prepareRuleSetFrom(
  dir: string,
  check: (rules: readonly RuleSource[], fixtures: readonly RuleSource[]) => Promise<Prepared> = prepareRuleSet,
): Promise<Prepared> {
  const { rules, fixtures, errors } = await readRulesFolder(dir)
  if (errors.length > 0) return { ok: false, errors, fixtures: NO_FIXTURES }
  return check(rules, fixtures)
}

export async function prepareRuleSet(rules: readonly RuleSource[], fixtures: readonly RuleSource[]): Promise<Prepared> {
  const compiled: Compiled = compileRuleSet(rules)
  if (!compiled.ok) return { ok: false, errors: compiled.errors, fixtures: NO_FIXTURES }
  const report = await runFixtures(compiled.ruleSet, fixtures)
  if (report.failures.length > 0) {
    return {
      ok: false,
      ruleSet: compiled.ruleSet,
      fixtures: report,
      errors: report.failures.map((f) => ({ file: f.file, path: `case "${f.case}"`, message: f.message })),
    }
  }
  return { ok: true, ruleSet: compiled.ruleSet, fixtures: report }
}

/**
 * What a case's contact starts from: an active customer with nothing outstanding, every field of
 * a Zoho contact present and unset ("" as Zoho sends it, empty lists and addresses).
 */
const BASE_CONTACT: Readonly<Record<string, unknown>> = {
  ...Object.fromEntries([...CONTACT_FIELDS].map((field) => [field, ''])),
  contact_id: '460000000000001',
  contact_name: 'Fixture Customer',
  contact_type: 'customer',
  status: 'active',
  currency_code: 'INR',
  payment_terms: 30,
  payment_terms_label: 'Net 30',
  outstanding_receivable_amount: 0,
  outstanding_receivable_amount_bcy: 0,
  unused_credits_receivable_amount: 0,
  unused_credits_receivable_amount_bcy: 0,
  credit_limit: 0,
  custom_fields: [],
  custom_field_hash: {},
  contact_persons: [],
  addresses: [],
  tags: [],
  billing_address: {},
  shipping_address: {},
}

/** A contact for a case (or a dry run): the fields given on top of the base contact. */
export function fixtureContact(fields: Record<string, unknown>) {
  return parseContact({ ...structuredClone(BASE_CONTACT), ...fields })
}

export async function runFixtures(ruleSet: RuleSet, sources: readonly RuleSource[]): Promise<FixtureReport> {
  let passed = 0
  let cases = 0
  const failures: FixtureFailure[] = []
  for (const source of sources) {
    const json = parseJson(source.file, source.content)
    if ('error' in json) {
      failures.push({ file: source.file, case: '(file)', message: json.error.message })
      continue
    }
    const tooMuch = exceeded(json.value, FIXTURE_LIMITS)
    if (tooMuch) {
      failures.push({ file: source.file, case: '(file)', message: `${tooMuch.path}: ${tooMuch.message}` })
      continue
    }
    const parsed = FixtureFileSchema.safeParse(json.value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      failures.push({ file: source.file, case: '(file)', message: `${jsonPath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}` })
      continue
    }
    cases += parsed.data.cases.length
    if (cases > MAX_FIXTURE_CASES) {
      failures.push({ file: source.file, case: '(file)', message: `more than ${MAX_FIXTURE_CASES} cases in the set's fixture files` })
      break
    }
    for (const c of parsed.data.cases) {
      const message = await checkCase(ruleSet, c)
      if (message) failures.push({ file: source.file, case: c.name, message })
      else passed++
    }
  }
  return { passed, failures }
}

const sameCodes = (a: readonly string[], b: readonly string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort())

async function checkCase(ruleSet: RuleSet, c: FixtureCase): Promise<string | undefined> {
  const contact = fixtureContact(c.contact)
  if (!contact.ok) return `the contact is not one Zoho could send: ${contact.problem}`
  const facts = buildFacts(contact.contact, c.order, 0, suppliedReceivables(c.receivables), {
    payments: suppliedPayments(c.payments),
    today: c.today ?? FIXTURE_TODAY,
    groupOthersBcy: c.group?.others_bcy ?? 0,
  })
  const result = evaluateCompiled(ruleSet, facts)
  // json-rules-engine is the reference: a set whose compiled form disagrees with it on a case never goes live.
  const reference = await evaluate(ruleSet, facts)
  if (reference.decision !== result.decision || reference.fired.join() !== result.fired.join()) {
    return `the compiled rules fire [${result.fired.join(', ')}] (${result.decision}), json-rules-engine [${reference.fired.join(', ')}] (${reference.decision}): report this as a creditgate bug`
  }
  const reasons = result.reasons.map((r) => r.code)
  const alerts = result.alerts.map((a) => a.code)
  const problems: string[] = []
  if (result.decision !== c.expect.decision) problems.push(`decision ${result.decision}, expected ${c.expect.decision}`)
  if (c.expect.reasons && !sameCodes(reasons, c.expect.reasons)) {
    problems.push(`reasons [${reasons.join(', ')}], expected [${c.expect.reasons.join(', ')}]`)
  }
  if (c.expect.alerts && !sameCodes(alerts, c.expect.alerts)) {
    problems.push(`alerts [${alerts.join(', ')}], expected [${c.expect.alerts.join(', ')}]`)
  }
  return problems.length > 0 ? problems.join('; ') : undefined
}
