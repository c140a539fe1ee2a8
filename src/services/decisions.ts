import { randomUUID } from 'node:crypto'
import { buildFacts, type Order } from '../domain/contact.js'
import type { RiskDecision } from '../domain/decision.js'
import { isProblem } from '../errors.js'
import { type Evaluation, evaluate } from '../rules/evaluate.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { ContactService } from './contacts.js'

export interface DecideInput {
  readonly org: string
  readonly contactId: string
  readonly order?: Order | undefined
  readonly explain?: boolean | undefined
}

export interface DecisionService {
  decide(input: DecideInput): Promise<RiskDecision>
}

export interface DecisionServiceOptions {
  contacts: ContactService
  /** The active rule set; read once per decision so a swap never splits one. */
  rules: () => RuleSet
  failMode: 'closed' | 'review'
  evaluator?: typeof evaluate
}

export function createDecisionService(options: DecisionServiceOptions): DecisionService {
  const run = options.evaluator ?? evaluate
  return {
    async decide({ org, contactId, order, explain }) {
      const ruleSet = options.rules()
      const base = { decision_id: randomUUID(), contact_id: contactId, organization_id: org, rules_version: ruleSet.version }
      let loaded: Awaited<ReturnType<ContactService['load']>>
      try {
        loaded = await options.contacts.load(org, contactId)
      } catch (err) {
        if (options.failMode === 'review' && isProblem(err, 'upstream_unavailable')) {
          return {
            ...base,
            decision: 'review',
            reasons: [
              {
                rule: 'fail-mode-review',
                code: 'CONTACT_UNAVAILABLE',
                severity: 'review',
                message: `No contact data: ${err.detail}. Review the order by hand.`,
              },
            ],
            alerts: [],
            facts: null,
            contact: null,
            evaluated_at: new Date().toISOString(),
          }
        }
        throw err
      }
      const now = Date.now()
      const ageSeconds = loaded.source === 'zoho' ? 0 : Math.max(0, Math.floor((now - loaded.fetchedAt.getTime()) / 1000))
      const { contact, ...facts } = buildFacts(loaded.contact, order, ageSeconds)
      const evaluation: Evaluation = await run(ruleSet, { contact, ...facts }, { explain })
      return {
        ...base,
        decision: evaluation.decision,
        reasons: evaluation.reasons,
        alerts: evaluation.alerts,
        facts,
        contact: { source: loaded.source, fetched_at: loaded.fetchedAt.toISOString(), age_seconds: ageSeconds },
        evaluated_at: new Date(now).toISOString(),
        ...(evaluation.trace ? { trace: evaluation.trace } : {}),
      }
    },
  }
}
