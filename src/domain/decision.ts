import { z } from 'zod'
import { ActorSchema } from './actor.js'
import { DecisionFactsSchema } from './facts.js'
import { ReservationAnswerSchema } from './reservations.js'

/** The answer's shapes. One zod schema each: TypeScript type, response validation and OpenAPI. */

export const DECISIONS = ['allow', 'review', 'block'] as const
export type Decision = (typeof DECISIONS)[number]

/** What a rule does when it fires: blocks, asks for a review, or raises an alert (never changing the decision). */
export const EVENT_TYPES = ['block', 'review', 'alert'] as const
export type EventType = (typeof EVENT_TYPES)[number]

export const ContactOriginSchema = z
  .enum(['zoho', 'cache', 'stale'])
  .describe('zoho: fetched now; cache: a fresh copy; stale: Zoho could not answer, an older copy was used')
export type ContactOrigin = z.output<typeof ContactOriginSchema>

export const ReasonSchema = z
  .object({
    rule: z.string().describe('The rule that fired'),
    code: z.string().describe('Stable code, e.g. OUTSTANDING_OVER_LIMIT; CONTACT_UNAVAILABLE when FAIL_MODE=review answered'),
    severity: z.enum(['block', 'review']),
    message: z.string().describe('For people; amounts formatted'),
  })
  .meta({ id: 'Reason' })

export const AlertSchema = z
  .object({
    rule: z.string(),
    code: z.string().describe('Stable code, e.g. APPLY_CREDITS_FIRST'),
    message: z.string(),
  })
  .meta({ id: 'Alert' })

export const TraceConditionSchema = z
  .object({
    at: z.string().describe('Where the condition sits in the rule, e.g. "all[0]"'),
    fact: z.string(),
    path: z.string().optional(),
    operator: z.string(),
    value: z.unknown().describe('The threshold as written, or {"fact": …} naming another fact'),
    fact_value: z.unknown().describe('The value the fact had'),
    compared_with: z.unknown().describe('What the fact was compared with'),
    result: z.boolean().nullable().describe('null: not evaluated'),
    text: z.string().describe('The comparison in words, e.g. "outstanding_bcy (62,400.00) greaterThan 50,000.00 → true"'),
  })
  .meta({ id: 'TraceCondition' })

export const TraceRuleSchema = z
  .object({
    rule: z.string(),
    file: z.string(),
    type: z.enum(EVENT_TYPES),
    fired: z.boolean(),
    conditions: z.array(TraceConditionSchema),
  })
  .meta({ id: 'TraceRule' })

export type Reason = z.output<typeof ReasonSchema>
export type Alert = z.output<typeof AlertSchema>
export type TraceCondition = z.output<typeof TraceConditionSchema>
export type TraceRule = z.output<typeof TraceRuleSchema>

export const ContactSourceSchema = z
  .object({
    source: ContactOriginSchema,
    fetched_at: z.string().describe('When the contact data was fetched from Zoho (ISO 8601)'),
    age_seconds: z.number().int().min(0),
  })
  .meta({ id: 'ContactSource' })

export const ReceivablesSourceSchema = z
  .object({
    as_of: z.string().describe('When the open invoices and sales orders were read from Zoho (ISO 8601)'),
    age_seconds: z.number().int().min(0),
  })
  .meta({ id: 'ReceivablesSource' })

/** Held orders (cases, releases): what a decision answer links to. */
export const CASE_STATES = ['open', 'released', 'rejected', 'expired', 'cleared'] as const
export type CaseState = (typeof CASE_STATES)[number]

export const ReleaseSchema = z
  .object({
    case_id: z.string(),
    by: z.string().describe('Who released: an API key by its name, or a person'),
    actor: ActorSchema.optional().describe('Who released, with the roles they held (absent on releases recorded before it was kept)'),
    at: z.string(),
    reason: z.string(),
    note: z.string().optional(),
    amount: z.number().describe('The largest order amount released (base currency), before RELEASE_TOLERANCE'),
    valid_until: z.string(),
  })
  .meta({ id: 'Release' })

/** A case's link in a decision answer. */
export const CaseLinkSchema = z.object({ case_id: z.string(), state: z.enum(CASE_STATES), status_url: z.string() }).meta({ id: 'CaseLink' })
export type CaseLink = z.output<typeof CaseLinkSchema>

export type Release = z.output<typeof ReleaseSchema>
export const PaymentsSourceSchema = z
  .object({
    as_of: z.string().describe('When the paid invoices were read from Zoho (ISO 8601)'),
    age_seconds: z.number().int().min(0),
  })
  .meta({ id: 'PaymentsSource' })

export const RiskDecisionSchema = z
  .object({
    decision_id: z.string().describe('Unique id of this decision; it is in the decision log'),
    decision: z.enum(DECISIONS).describe('block if any block rule fired, else review if any review rule fired, else allow'),
    contact_id: z.string().describe('Zoho contact id, a string of 1 to 19 digits'),
    organization_id: z.string(),
    reasons: z.array(ReasonSchema).describe('The block and review rules that fired'),
    alerts: z.array(AlertSchema).describe('Alert rules that fired; they never change the decision'),
    facts: DecisionFactsSchema.nullable().describe('The facts the rules saw; null when no contact data was available'),
    rules_version: z.string().describe('Content hash of the rule set that made the decision'),
    contact: ContactSourceSchema.nullable().describe('Where the contact data came from; null when none was available'),
    receivables: ReceivablesSourceSchema.nullable().describe('How old the receivables facts are; null when no rule used them'),
    payments: PaymentsSourceSchema.nullable().describe('How old the payment facts are; null when no rule used them'),
    evaluated_at: z.string(),
    trace: z.array(TraceRuleSchema).optional().describe('With explain: every rule, every condition, its values and result'),
    case: CaseLinkSchema.optional().describe('A held order with a reference: its credit case (poll status_url or wait for the callback)'),
    release: ReleaseSchema.optional().describe('The order is allowed because a person released its case'),
    overridden: z.array(ReasonSchema).optional().describe('With release: the reasons the rules gave, overridden by the release'),
    reservation: ReservationAnswerSchema.optional(),
  })
  .meta({ id: 'RiskDecision' })

export type RiskDecision = z.output<typeof RiskDecisionSchema>

export const DryRunDecisionSchema = z
  .object({
    decision: z.enum(DECISIONS),
    reasons: z.array(ReasonSchema),
    alerts: z.array(AlertSchema),
    facts: DecisionFactsSchema,
    rules_version: z.string().describe('The active set, or the candidate’s version'),
    evaluated_at: z.string(),
    trace: z.array(TraceRuleSchema).optional(),
  })
  .meta({ id: 'DryRunDecision' })

export type DryRunDecision = z.output<typeof DryRunDecisionSchema>
