import type { ZohoContact } from '../domain/contact.js'
import type { DryRunDecision, RiskDecision } from '../domain/decision.js'
import { buildFacts, type Facts, type Order } from '../domain/facts.js'
import { newDecisionId } from '../domain/history.js'
import { type CreditFields, NO_PAYMENT_FACTS, type PaymentFacts, suppliedPayments } from '../domain/payments.js'
import { type ReceivablesFacts, receivablesFacts, suppliedReceivables, todayIn } from '../domain/receivables.js'
import { listedIn } from '../domain/reservations.js'
import { isProblem } from '../errors.js'
import { isoTime } from '../lib/format.js'
import { evaluateCompiled } from '../rules/compile.js'
import { evaluate as evaluateWithEngine } from '../rules/reference.js'
import { type RuleSet, usesGroup, usesPayments, usesReceivables } from '../rules/rule-set.js'
import { checkComplete, type Evaluate, type Evaluation } from '../rules/semantics.js'
import type { ContactService, LoadedContact } from './contacts.js'
import type { GroupExposureService, GroupOthers } from './group-exposure.js'
import type { Payments, PaymentsService } from './payments.js'
import type { Receivables, ReceivablesService } from './receivables-ports.js'
import type { ReservationService } from './reservations.js'

export interface DecideInput {
  readonly org: string
  readonly contactId: string
  readonly order?: Order | undefined
  readonly explain?: boolean | undefined
  /** Who asked (a key name, or an address): the decision history records it. */
  readonly caller?: string | undefined
  /** The caller key charged for the Zoho calls its cache misses start (see CallerShare); none for admin keys. */
  readonly party?: string | undefined
}

/** A decision just made, with the facts it was made on (null: FAIL_MODE=review without data). */
export interface Decided {
  readonly input: DecideInput
  readonly decision: RiskDecision
  readonly facts: Facts | null
}

export interface DryRunInput {
  /** The organization whose rules (unless ruleSet) and time zone apply. */
  readonly org: string
  /** The contact as Zoho would send it. */
  readonly contact: ZohoContact
  readonly order?: Order | undefined
  /** A candidate set instead of the active one. */
  readonly ruleSet?: RuleSet | undefined
  /** Receivables facts to use instead of "nothing overdue, no open orders" (only with rules that read them). */
  readonly receivables?: Partial<ReceivablesFacts> | undefined
  /** Payment facts to use instead of "no paid invoice in the 12 months" (only with rules that read them). */
  readonly payments?: Partial<PaymentFacts> | undefined
  /** The day review and limit dates are compared with (default: today in the organization's time zone). */
  readonly today?: string | undefined
  readonly explain?: boolean | undefined
}

export interface DecisionService {
  /** The decision for a contact, fetched through the cache. */
  decide(input: DecideInput): Promise<RiskDecision>
  /** The decision for a contact supplied by the caller: no Zoho, no cache (POST /risk/evaluate). */
  dryRun(input: DryRunInput): Promise<DryRunDecision>
  /** Whether the compiled rules of this version disagreed with json-rules-engine: its evaluations are then all json-rules-engine's. */
  untrusted(version: string): boolean
}

/** The compiled evaluator and json-rules-engine came to different results: the answer is json-rules-engine's. */
export interface Disagreement {
  readonly ruleSet: RuleSet
  readonly facts: Facts
  readonly compiled: Evaluation
  readonly reference: Evaluation
}

export interface DecisionServiceOptions {
  contacts: ContactService
  /** The organization's active rule set; read once per decision so a swap never splits one. */
  rules: (org: string) => RuleSet
  failMode: 'closed' | 'review'
  /** Replaces the compiled evaluator (a test seam). Whatever evaluates, an evaluation that misses a rule is an error. */
  evaluate?: Evaluate | undefined
  /** Share of evaluations also run by json-rules-engine, the reference, and compared (RULES_VERIFY_SAMPLE; 0: none). */
  verifySample?: number
  /** Told of every disagreement; the answer is then json-rules-engine's. */
  onDisagreement?: (disagreement: Disagreement) => void
  /** Uniform in [0, 1): picks the evaluations that are verified. */
  random?: () => number
  /** Open invoices and sales orders, for rule sets that read receivables facts. */
  receivables?: ReceivablesService | undefined
  /** Paid invoices, for rule sets that read payment facts. */
  payments?: PaymentsService | undefined
  /** The group's other organizations' linked customers, for rule sets that read group_exposure_bcy. */
  groups?: GroupExposureService | undefined
  /** The custom fields of review dates and temporary limits (default cf_credit_review_date, cf_credit_limit_until). */
  creditFields?: CreditFields | undefined
  /** The organization's time zone (or each organization's): due dates are calendar dates there. */
  timeZone?: string | ((org: string) => string)
  /** The organization's base currency, if known (a fact, and in the decision's facts). */
  baseCurrency?: ((org: string) => string | null) | undefined
  /** The clock (ms), for the contact's age and evaluated_at. */
  now?: () => number
  /**
   * After the rules decided, before the decision is recorded: may honour a release or link the
   * order's case (services/cases.ts). It must not throw.
   */
  settle?: ((input: DecideInput, answer: RiskDecision) => Promise<RiskDecision>) | undefined
  /** Told of every decision (history, shadow rules), synchronously: it must defer its own work. */
  onDecision?: ((decided: Decided) => void) | undefined
  /** Reservations (issue 24): decides with the customer's other reservations, and holds an allowed order with a reference. */
  hold?: ReservationService['hold'] | undefined
}

/** Without reservations: the decision alone. */
const decideAlone: ReservationService['hold'] = async (_input, decide) => ({ outcome: await decide(null) })

/** The same decision, rules fired, reasons and alerts (messages included) and trace, if any. */
const agree = (a: Evaluation, b: Evaluation) =>
  a.decision === b.decision &&
  a.fired.join() === b.fired.join() &&
  JSON.stringify([a.reasons, a.alerts, a.trace]) === JSON.stringify([b.reasons, b.alerts, b.trace])

/** Throws EvaluationError unless the evaluation has a result for every rule of the set. */
const checked = (ruleSet: RuleSet, evaluation: Evaluation) => {
  checkComplete(ruleSet, evaluation.evaluated)
  return evaluation
}

/**
 * Evaluates with the compiled rules (or the given evaluator), and never lets an incomplete
 * evaluation through: what backtests use, the decisions' evaluator without the sampled check.
 */
export const checkedEvaluate =
  (evaluator?: Evaluate): Evaluate =>
  async (ruleSet, facts, evaluateOptions) =>
    checked(ruleSet, evaluator ? await evaluator(ruleSet, facts, evaluateOptions) : evaluateCompiled(ruleSet, facts, evaluateOptions))

export function createDecisionService(options: DecisionServiceOptions): DecisionService {
  const sample = options.verifySample ?? 0
  const random = options.random ?? Math.random
  const untrusted = new Set<string>()
  /**
   * Evaluates with the compiled rules (or the injected evaluator), never letting an incomplete
   * evaluation through. A sample is evaluated by json-rules-engine too; where the two disagree,
   * json-rules-engine's result is the answer, as is every later evaluation under that version.
   */
  const evaluate = async (ruleSet: RuleSet, facts: Facts, evaluateOptions: { explain?: boolean | undefined } = {}) => {
    if (untrusted.has(ruleSet.version)) return checked(ruleSet, await evaluateWithEngine(ruleSet, facts, evaluateOptions))
    const evaluation = checked(
      ruleSet,
      options.evaluate ? await options.evaluate(ruleSet, facts, evaluateOptions) : evaluateCompiled(ruleSet, facts, evaluateOptions),
    )
    if (random() >= sample) return evaluation
    const reference = checked(ruleSet, await evaluateWithEngine(ruleSet, facts, evaluateOptions))
    if (agree(evaluation, reference)) return evaluation
    untrusted.add(ruleSet.version)
    options.onDisagreement?.({ ruleSet, facts, compiled: evaluation, reference })
    return reference
  }
  const clock = options.now ?? Date.now
  const zone = options.timeZone ?? 'UTC'
  const zoneOf = typeof zone === 'string' ? () => zone : zone
  // Writing a date costs more than evaluating the rules: each instant is written once.
  const evaluatedTime = isoTime()
  const asOfTime = isoTime()
  const decided = (input: DecideInput, decision: RiskDecision, facts: Facts | null) => {
    options.onDecision?.({ input, decision, facts })
    return decision
  }
  return {
    async decide(input) {
      const { org, contactId, order, explain, party } = input
      const ruleSet = options.rules(org)
      const base = { decision_id: newDecisionId(clock()), contact_id: contactId, organization_id: org, rules_version: ruleSet.version }
      const needsReceivables = usesReceivables(ruleSet)
      const [contactRead, receivablesRead, paymentsRead] = await Promise.allSettled([
        options.contacts.load(org, contactId, party),
        needsReceivables && options.receivables ? options.receivables.forCustomer(org, contactId) : undefined,
        usesPayments(ruleSet) && options.payments ? options.payments.forCustomer(org, contactId) : undefined,
      ])
      // The linked customers in the group's other organizations: known from the contact's link field only.
      const groupRead: PromiseSettledResult<GroupOthers | undefined> =
        contactRead.status === 'fulfilled' && usesGroup(ruleSet) && options.groups
          ? await options.groups.othersFor(org, contactRead.value.contact).then(
              (value) => ({ status: 'fulfilled', value }),
              (reason: unknown) => ({ status: 'rejected', reason }),
            )
          : { status: 'fulfilled', value: undefined }
      // The contact's failure first: without the contact there is nothing to decide on.
      const failed =
        contactRead.status === 'rejected'
          ? { err: contactRead.reason, code: 'CONTACT_UNAVAILABLE', what: 'No contact data' }
          : receivablesRead.status === 'rejected'
            ? { err: receivablesRead.reason, code: 'RECEIVABLES_UNAVAILABLE', what: 'No receivables data' }
            : paymentsRead.status === 'rejected'
              ? { err: paymentsRead.reason, code: 'PAYMENTS_UNAVAILABLE', what: 'No payment data' }
              : groupRead.status === 'rejected'
                ? { err: groupRead.reason, code: 'GROUP_EXPOSURE_UNAVAILABLE', what: 'No group exposure data' }
                : undefined
      if (failed) {
        if (options.failMode !== 'review' || !isProblem(failed.err, 'upstream_unavailable')) throw failed.err
        return decided(
          input,
          {
            ...base,
            decision: 'review',
            reasons: [
              {
                rule: 'fail-mode-review',
                code: failed.code,
                severity: 'review',
                message: `${failed.what}: ${failed.err.detail}. Review the order by hand.`,
              },
            ],
            alerts: [],
            facts: null,
            contact: null,
            receivables: null,
            payments: null,
            evaluated_at: new Date(clock()).toISOString(),
          },
          null,
        )
      }
      const loaded = (contactRead as PromiseFulfilledResult<LoadedContact>).value
      const receivables = (receivablesRead as PromiseFulfilledResult<Receivables | undefined>).value
      const payments = (paymentsRead as PromiseFulfilledResult<Payments | undefined>).value
      const group = (groupRead as PromiseFulfilledResult<GroupOthers | undefined>).value
      const now = clock()
      const today = todayIn(zoneOf(org), now)
      // Fetched now is 0 seconds old, however long Zoho took to answer.
      const ageSeconds = loaded.source === 'zoho' ? 0 : Math.max(0, Math.floor((now - loaded.fetchedAtMs) / 1000))
      const listed = receivables && listedIn(receivables.customer, receivables.asOf)
      // The rules decide, a release may stand in for them (settle), and an allowed order with a
      // reference holds its amount (hold): one step per customer, so that a released order is held too.
      const held = await (options.hold ?? decideAlone)({ org, contactId, order, caller: input.caller ?? '', listed }, async (reserved) => {
        const all = buildFacts(
          loaded.contact,
          order,
          ageSeconds,
          receivables
            ? (outstanding, amount) => receivablesFacts(receivables.customer, outstanding, amount, today, reserved ?? 0)
            : undefined,
          {
            payments: payments && (payments.customer?.facts ?? NO_PAYMENT_FACTS),
            today,
            fields: options.creditFields,
            baseCurrency: options.baseCurrency?.(org),
            groupOthersBcy: group?.othersBcy,
          },
        )
        const evaluation = await evaluate(ruleSet, all, { explain })
        const { contact: _, ...facts } = all
        const answer: RiskDecision = {
          decision_id: base.decision_id,
          contact_id: contactId,
          organization_id: org,
          rules_version: ruleSet.version,
          decision: evaluation.decision,
          reasons: evaluation.reasons,
          alerts: evaluation.alerts,
          facts,
          contact: { source: loaded.source, fetched_at: loaded.fetchedAt, age_seconds: ageSeconds },
          receivables: receivables
            ? { as_of: asOfTime(receivables.asOf), age_seconds: Math.max(0, Math.floor((now - receivables.asOf) / 1000)) }
            : null,
          payments: payments
            ? { as_of: asOfTime(payments.asOf), age_seconds: Math.max(0, Math.floor((now - payments.asOf) / 1000)) }
            : null,
          evaluated_at: evaluatedTime(now),
        }
        if (evaluation.trace) answer.trace = evaluation.trace
        const settled = options.settle ? await options.settle(input, answer) : answer
        return { decision: settled.decision, facts: all, answer: settled }
      })
      const { answer, facts: all } = held.outcome
      if (held.reservation) answer.reservation = held.reservation
      return decided(input, answer, all)
    },
    async dryRun({ org, contact, order, ruleSet = options.rules(org), receivables, payments, today, explain }) {
      const all = buildFacts(contact, order, 0, usesReceivables(ruleSet) ? suppliedReceivables(receivables) : undefined, {
        payments: usesPayments(ruleSet) ? suppliedPayments(payments) : undefined,
        today: today ?? todayIn(zoneOf(org), clock()),
        fields: options.creditFields,
        baseCurrency: options.baseCurrency?.(org),
        // A dry run has no group listings: the customer's own exposure alone.
        groupOthersBcy: usesGroup(ruleSet) ? 0 : undefined,
      })
      const evaluation = await evaluate(ruleSet, all, { explain })
      const { contact: _, ...facts } = all
      return {
        decision: evaluation.decision,
        reasons: evaluation.reasons,
        alerts: evaluation.alerts,
        facts,
        rules_version: ruleSet.version,
        evaluated_at: new Date(clock()).toISOString(),
        ...(evaluation.trace ? { trace: evaluation.trace } : {}),
      }
    },
    untrusted: (version) => untrusted.has(version),
  }
}
