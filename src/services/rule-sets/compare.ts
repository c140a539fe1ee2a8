import { z } from 'zod'
import { type Alert, DECISIONS, type Decision, type Reason, ReasonSchema } from '../../domain/decision.js'
import { type FactName, PAYMENT_FACTS, RECEIVABLES_FACTS } from '../../rules/catalogue.js'
import { pathHead, type RuleSet } from '../../rules/rule-set.js'
import type { Evaluation } from '../../rules/semantics.js'

/**
 * Decisions made by one rule set set beside what another set makes of the same facts: the
 * outcome matrix, how often each rule fired under each, and examples of changed decisions.
 * A backtest compares recorded decisions with a candidate; shadow rules compare live decisions
 * with the shadow set.
 */
const Row = z.object({ allow: z.number().int(), review: z.number().int(), block: z.number().int() })

export const ComparisonSchema = z
  .object({
    evaluated: z.number().int().describe('Decisions evaluated under both sets'),
    changed: z.number().int().describe('Of those, decisions whose outcome differs'),
    not_comparable: z
      .number()
      .int()
      .describe('Decisions whose facts lack what a rule of the set reads (e.g. receivables facts, FAIL_MODE=review answers): not guessed'),
    matrix: z
      .object({ allow: Row, review: Row, block: Row })
      .describe('matrix[before][after]: how many decisions went from one outcome to another; the diagonal is unchanged'),
    rules: z
      .array(z.object({ name: z.string(), fired_before: z.number().int(), fired_after: z.number().int() }))
      .describe('How often each rule (of either set) fired, over the evaluated decisions'),
    examples: z
      .array(
        z.object({
          decision_id: z.string(),
          contact_id: z.string(),
          before: z.enum(DECISIONS),
          after: z.enum(DECISIONS),
          reasons_after: z.array(ReasonSchema),
        }),
      )
      .max(50)
      .describe('Up to 50 changed decisions: in a backtest the newest, in shadow the first since the set was loaded'),
  })
  .meta({ id: 'RuleComparison' })

export type Comparison = z.output<typeof ComparisonSchema>

/** A decision as it was made: enough to compare it. */
export interface Before {
  readonly decision_id: string
  readonly contact_id: string
  readonly decision: Decision
  readonly reasons: readonly Reason[]
  readonly alerts: readonly Alert[]
}

export const MAX_EXAMPLES = 50

/**
 * Whether facts lack something a rule of the set reads: no facts at all, a fact recorded before it
 * existed, the raw contact (never recorded), receivables or payment facts the deciding set did not
 * read (null), or a custom field the record left out. Such a decision is not comparable; nothing is
 * guessed for it.
 */
export function lacksFacts(
  ruleSet: RuleSet,
  facts: Readonly<Record<string, unknown>> | null | undefined,
  cut?: { readonly custom_fields: number } | undefined,
): boolean {
  if (!facts) return true
  // A record may have left custom fields out (RECORD_BOUNDS): one a rule reads and the record lacks
  // is then unknown, not absent.
  const kept = (cut?.custom_fields ?? 0) > 0 ? ((facts.custom_fields ?? {}) as Readonly<Record<string, unknown>>) : undefined
  // Facts of a listing the deciding set did not read are null (a read one may be null too: no credit limit, nothing paid).
  const unread = (fact: FactName) =>
    (RECEIVABLES_FACTS.has(fact) && facts.exposure_with_orders_bcy == null) || (PAYMENT_FACTS.has(fact) && facts.paid_invoices_12m == null)
  for (const { fact, path } of ruleSet.inputs) {
    if (facts[fact] === undefined || unread(fact)) return true
    if (kept && fact === 'custom_fields' && !Object.hasOwn(kept, pathHead(path) ?? '')) return true
  }
  return false
}

const emptyRow = () => ({ allow: 0, review: 0, block: 0 })

export function createComparison(ruleSet: RuleSet) {
  const matrix = { allow: emptyRow(), review: emptyRow(), block: emptyRow() }
  const fired = new Map<string, { fired_before: number; fired_after: number }>()
  for (const rule of ruleSet.rules) fired.set(rule.definition.name, { fired_before: 0, fired_after: 0 })
  const count = (name: string, side: 'fired_before' | 'fired_after') => {
    let counts = fired.get(name)
    if (!counts) {
      counts = { fired_before: 0, fired_after: 0 }
      fired.set(name, counts)
    }
    counts[side]++
  }
  const examples: Comparison['examples'] = []
  let evaluated = 0
  let changed = 0
  let notComparable = 0
  return {
    /** One decision, and the other set's evaluation of its facts (undefined: not comparable). */
    add(before: Before, after: Evaluation | undefined): void {
      if (!after) {
        notComparable++
        return
      }
      evaluated++
      matrix[before.decision][after.decision]++
      for (const r of before.reasons) count(r.rule, 'fired_before')
      for (const a of before.alerts) count(a.rule, 'fired_before')
      for (const name of after.fired) count(name, 'fired_after')
      if (before.decision === after.decision) return
      changed++
      if (examples.length < MAX_EXAMPLES) {
        examples.push({
          decision_id: before.decision_id,
          contact_id: before.contact_id,
          before: before.decision,
          after: after.decision,
          reasons_after: after.reasons,
        })
      }
    },
    result(): Comparison {
      return {
        evaluated,
        changed,
        not_comparable: notComparable,
        matrix: structuredClone(matrix),
        rules: [...fired].map(([name, counts]) => ({ name, ...counts })),
        examples: [...examples],
      }
    },
  }
}

export type ComparisonCounter = ReturnType<typeof createComparison>
