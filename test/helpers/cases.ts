import type { Hold, Policy } from '../../src/domain/case.js'
import type { RiskDecision } from '../../src/domain/decision.js'

/** Credit cases for tests: the policy they run under, a held order, a decision as the rules made it. */

export const POLICY: Policy = { expireDays: 14, releaseValidDays: 7, tolerance: 0.1 }

/** A held order as the case service sees it: a block over the credit limit, changed by `over`. */
export const hold = (over: Partial<Hold> = {}): Hold => ({
  caseId: 'case_000000000000000000000001',
  org: '10234695',
  contactId: '460000000031004',
  order: { reference: 'SO-1', amount: 8000 },
  decisionId: 'd1',
  decision: 'block',
  reasons: [{ rule: 'credit-limit-exceeded', code: 'CREDIT_LIMIT_EXCEEDED', severity: 'block', message: 'over' }],
  unreleasable: [],
  caller: 'shop',
  ...over,
})

/** A decision as the rules made it, before a case settles it: a block over the credit limit, with no facts, changed by `over`. */
export const decided = (over: Partial<RiskDecision> = {}): RiskDecision => ({
  decision_id: 'd1',
  decision: 'block',
  contact_id: '460000000031004',
  organization_id: '10234695',
  reasons: [{ rule: 'credit-limit-exceeded', code: 'CREDIT_LIMIT_EXCEEDED', severity: 'block', message: 'over' }],
  alerts: [],
  facts: null,
  rules_version: 'v',
  contact: null,
  receivables: null,
  payments: null,
  evaluated_at: '',
  ...over,
})
