import type { ZohoContact } from '../domain/contact.js'
import type { DryRunDecision, RiskDecision } from '../domain/decision.js'
import { buildFacts, type Facts, type Order } from '../domain/facts.js'
import { newDecisionId } from '../domain/history.js'
import { type ReceivablesFacts, receivablesFacts, suppliedReceivables, todayIn } from '../domain/receivables.js'
import { isProblem } from '../errors.js'
import { deepFreeze } from '../lib/deep-freeze.js'
import { checkComplete, type Evaluate, type Evaluation, evaluate as evaluateWithEngine, resolvePath } from '../rules/evaluate.js'
import { type RuleSet, usesReceivables } from '../rules/rule-set.js'
import type { ContactService, LoadedContact } from './contacts.js'
import type { Receivables, ReceivablesService } from './receivables.js'

export interface DecideInput {
  readonly org: string
  readonly contactId: string
  readonly order?: Order | undefined
  readonly explain?: boolean | undefined
  /** Who asked (a key name, or an address): charged for the Zoho calls its cache misses start. */
  readonly caller?: string | undefined
}

/** A decision just made, with the facts it was made on (null: FAIL_MODE=review without data). */
export interface Decided {
  readonly input: DecideInput
  readonly decision: RiskDecision
  readonly facts: Facts | null
}

export interface DryRunInput {
  /** The contact as Zoho would send it. */
  readonly contact: ZohoContact
  readonly order?: Order | undefined
  /** A candidate set instead of the active one. */
  readonly ruleSet?: RuleSet | undefined
  /** Receivables facts to use instead of "nothing overdue, no open orders" (only with rules that read them). */
  readonly receivables?: Partial<ReceivablesFacts> | undefined
  readonly explain?: boolean | undefined
}

export interface DecisionService {
  /** The decision for a contact, fetched through the cache. */
  decide(input: DecideInput): Promise<RiskDecision>
  /** The decision for a contact supplied by the caller: no Zoho, no cache (POST /risk/evaluate). */
  dryRun(input: DryRunInput): Promise<DryRunDecision>
}

export interface DecisionServiceOptions {
  contacts: ContactService
  /** The active rule set; read once per decision so a swap never splits one. */
  rules: () => RuleSet
  failMode: 'closed' | 'review'
  /** Evaluations remembered per rule set (0: none). */
  memoSize?: number
  /** The evaluator (default: json-rules-engine). Whatever it is, an evaluation that misses a rule is an error. */
  evaluate?: Evaluate
  /** Open invoices and sales orders, for rule sets that read receivables facts. */
  receivables?: ReceivablesService | undefined
  /** The organization's time zone: due dates are calendar dates there. */
  timeZone?: string
  /** The clock (ms), for the contact's age and evaluated_at. */
  now?: () => number
  /** Told of every decision (history, shadow rules), synchronously: it must defer its own work. */
  onDecision?: ((decided: Decided) => void) | undefined
}

/**
 * Remembers evaluations by their inputs. Reusing an evaluation is allowed only for identical
 * facts under the same rules version (DESIGN.md): the key is the version and the value of every
 * fact (and path) a rule or message of that version reads; nothing else can change the result.
 */
export function createMemo(size: number, evaluate: Evaluate) {
  let version: string | undefined
  const entries = new Map<string, Evaluation>()
  return {
    async evaluate(ruleSet: RuleSet, facts: Facts): Promise<Evaluation> {
      if (ruleSet.version !== version) {
        entries.clear()
        version = ruleSet.version
      }
      const key = JSON.stringify(ruleSet.inputs.map(({ fact, path }) => (path ? resolvePath(facts[fact], path) : facts[fact])))
      const known = entries.get(key)
      if (known) return known
      const evaluation = deepFreeze(await evaluate(ruleSet, facts))
      if (ruleSet.version === version) {
        entries.set(key, evaluation)
        // A Map iterates in insertion order: the first key is the oldest.
        if (entries.size > size) entries.delete(entries.keys().next().value as string)
      }
      return evaluation
    },
  }
}

/** Evaluates with the evaluator (default: the engine), and never lets an incomplete evaluation through. */
export const checkedEvaluate =
  (evaluator: Evaluate = evaluateWithEngine): Evaluate =>
  async (ruleSet, facts, evaluateOptions) => {
    const evaluation = await evaluator(ruleSet, facts, evaluateOptions)
    checkComplete(ruleSet, evaluation.evaluated)
    return evaluation
  }

export function createDecisionService(options: DecisionServiceOptions): DecisionService {
  const evaluate = checkedEvaluate(options.evaluate)
  const memo = createMemo(options.memoSize ?? 10_000, evaluate)
  const clock = options.now ?? Date.now
  const decided = (input: DecideInput, decision: RiskDecision, facts: Facts | null) => {
    options.onDecision?.({ input, decision, facts })
    return decision
  }
  return {
    async decide(input) {
      const { org, contactId, order, explain, caller } = input
      const ruleSet = options.rules()
      const base = { decision_id: newDecisionId(clock()), contact_id: contactId, organization_id: org, rules_version: ruleSet.version }
      const needsReceivables = usesReceivables(ruleSet)
      const [contactRead, receivablesRead] = await Promise.allSettled([
        options.contacts.load(org, contactId, caller),
        needsReceivables && options.receivables ? options.receivables.forCustomer(org, contactId) : undefined,
      ])
      // The contact's failure first: without the contact there is nothing to decide on.
      const failed =
        contactRead.status === 'rejected'
          ? { err: contactRead.reason, code: 'CONTACT_UNAVAILABLE', what: 'No contact data' }
          : receivablesRead.status === 'rejected'
            ? { err: receivablesRead.reason, code: 'RECEIVABLES_UNAVAILABLE', what: 'No receivables data' }
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
            evaluated_at: new Date(clock()).toISOString(),
          },
          null,
        )
      }
      const loaded = (contactRead as PromiseFulfilledResult<LoadedContact>).value
      const receivables = (receivablesRead as PromiseFulfilledResult<Receivables | undefined>).value
      const now = clock()
      // Fetched now is 0 seconds old, however long Zoho took to answer.
      const ageSeconds = loaded.source === 'zoho' ? 0 : Math.max(0, Math.floor((now - loaded.fetchedAtMs) / 1000))
      const today = receivables ? todayIn(options.timeZone ?? 'UTC', now) : ''
      const { contact, ...facts } = buildFacts(
        loaded.contact,
        order,
        ageSeconds,
        receivables ? (outstanding, amount) => receivablesFacts(receivables.customer, outstanding, amount, today) : undefined,
      )
      // A trace describes one run: explained decisions are always evaluated afresh.
      const evaluation = explain
        ? await evaluate(ruleSet, { contact, ...facts }, { explain })
        : await memo.evaluate(ruleSet, { contact, ...facts })
      return decided(
        input,
        {
          ...base,
          decision: evaluation.decision,
          reasons: evaluation.reasons,
          alerts: evaluation.alerts,
          facts,
          contact: { source: loaded.source, fetched_at: loaded.fetchedAt, age_seconds: ageSeconds },
          receivables: receivables
            ? { as_of: new Date(receivables.asOf).toISOString(), age_seconds: Math.max(0, Math.floor((now - receivables.asOf) / 1000)) }
            : null,
          evaluated_at: new Date(now).toISOString(),
          ...(evaluation.trace ? { trace: evaluation.trace } : {}),
        },
        { contact, ...facts },
      )
    },
    async dryRun({ contact, order, ruleSet = options.rules(), receivables, explain }) {
      const { contact: _, ...facts } = buildFacts(
        contact,
        order,
        0,
        usesReceivables(ruleSet) ? suppliedReceivables(receivables) : undefined,
      )
      const evaluation = await evaluate(ruleSet, { contact, ...facts }, { explain })
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
  }
}
