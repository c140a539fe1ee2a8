import { CASE_ID, HELD_REASON, RELEASE } from './cases.js'
import { type Example, ex } from './example.js'

export const RULES_VERSION = 'sha256:967be2b864317ef0ddc01cf40998cc4af8dcb84a36b4e7d724af6b311af46804'

export const facts = (over: Record<string, unknown>) => ({
  contact_id: '460000000031001',
  contact_name: 'Bright Foods',
  contact_type: 'customer',
  status: 'active',
  currency_code: 'INR',
  base_currency: 'INR',
  outstanding_bcy: 12000,
  unused_credits_bcy: 0,
  credit_limit: null,
  order_amount: 0,
  exposure_bcy: 12000,
  available_credit_bcy: null,
  payment_terms: 30,
  contact_age_seconds: 42,
  custom_fields: {},
  overdue_bcy: 0,
  oldest_overdue_days: 0,
  overdue_invoices: 0,
  overdue_ratio: 0,
  open_orders_bcy: 0,
  reserved_bcy: 0,
  exposure_with_orders_bcy: 12000,
  paid_invoices_12m: 14,
  avg_days_to_pay_12m: 24.5,
  avg_days_late_12m: 0,
  weighted_days_late_12m: 0,
  days_late_trend: 0,
  credit_review_overdue_days: null,
  credit_limit_expired: false,
  credit_limit_utilization: null,
  group_exposure_bcy: null,
  ...over,
})

export const decision = (over: Record<string, unknown>) => ({
  decision_id: '0f8c2a4e-5b1d-4c7a-9e3f-2d6b8a1c4e70',
  decision: 'allow',
  contact_id: '460000000031001',
  organization_id: '10234695',
  reasons: [],
  alerts: [],
  facts: facts({}),
  rules_version: RULES_VERSION,
  contact: { source: 'cache', fetched_at: '2026-11-24T10:00:00.000Z', age_seconds: 42 },
  receivables: { as_of: '2026-11-24T09:55:00.000Z', age_seconds: 342 },
  payments: { as_of: '2026-11-24T02:00:00.000Z', age_seconds: 28842 },
  evaluated_at: '2026-11-24T10:00:42.120Z',
  ...over,
})

export const OUTSTANDING_REASON = {
  rule: 'outstanding-over-50000',
  code: 'OUTSTANDING_OVER_LIMIT',
  severity: 'block',
  message: 'Outstanding receivables 62,400.00 exceed 50,000.00',
} as const

export const CREDITS_ALERT = {
  rule: 'apply-unused-credits',
  code: 'APPLY_CREDITS_FIRST',
  message: '1,369.66 of unused credits: apply them before asking for payment',
}

export const DECISION_EXAMPLES: Record<string, Example> = {
  allow: { summary: 'allow: a customer in good standing', value: decision({}) },
  block: {
    summary: 'block: outstanding receivables over 50,000 (with an alert)',
    value: decision({
      decision: 'block',
      contact_id: '460000000026049',
      reasons: [OUTSTANDING_REASON],
      alerts: [CREDITS_ALERT],
      facts: facts({
        contact_id: '460000000026049',
        contact_name: 'Acme Retail Pvt Ltd',
        outstanding_bcy: 62400,
        unused_credits_bcy: 1369.66,
        order_amount: 1000,
        exposure_bcy: 63400,
        exposure_with_orders_bcy: 63400,
      }),
    }),
  },
  overdue: {
    summary: 'review: the oldest unpaid invoice is 45 days past due',
    value: decision({
      decision: 'review',
      contact_id: '460000000031012',
      reasons: [
        {
          rule: 'overdue-over-30-days',
          code: 'OVERDUE_OVER_30_DAYS',
          severity: 'review',
          message: 'The oldest unpaid invoice is 45 days past due (6,000.00 overdue)',
        },
      ],
      facts: facts({
        contact_id: '460000000031012',
        contact_name: 'Meridian Foods',
        outstanding_bcy: 18000,
        exposure_bcy: 18000,
        overdue_bcy: 6000,
        oldest_overdue_days: 45,
        overdue_invoices: 1,
        overdue_ratio: 0.3333,
        exposure_with_orders_bcy: 18000,
      }),
    }),
  },
  review: {
    summary: 'review: Zoho unavailable, no cached copy, FAIL_MODE=review',
    value: decision({
      decision: 'review',
      reasons: [
        {
          rule: 'fail-mode-review',
          code: 'CONTACT_UNAVAILABLE',
          severity: 'review',
          message: 'No contact data: Zoho did not answer after 3 attempts (timed out after 5000 ms). Review the order by hand.',
        },
      ],
      facts: null,
      contact: null,
      receivables: null,
      payments: null,
    }),
  },
  alert: {
    summary: 'allow with an alert: unused credits to apply first',
    value: decision({
      contact_id: '460000000031002',
      alerts: [CREDITS_ALERT],
      facts: facts({
        contact_id: '460000000031002',
        contact_name: 'Cedar Textiles',
        outstanding_bcy: 8000,
        unused_credits_bcy: 1369.66,
        exposure_bcy: 8000,
        exposure_with_orders_bcy: 8000,
      }),
    }),
  },
}

/**
 * A held order sent again with its reference after a person released its case: only a POST carries
 * a reference, so only a POST is released (and, allowed, it holds its amount like any other).
 */
export const RELEASED_EXAMPLE: Example = {
  summary: 'allow: a held order released by the credit team (the same reference, within the tolerance)',
  value: decision({
    contact_id: '460000000031012',
    facts: facts({
      contact_id: '460000000031012',
      contact_name: 'Meridian Foods',
      outstanding_bcy: 18000,
      order_amount: 8000,
      exposure_bcy: 26000,
      exposure_with_orders_bcy: 26000,
    }),
    overridden: [HELD_REASON],
    release: RELEASE,
    case: { case_id: CASE_ID, state: 'released', status_url: `/cases/${CASE_ID}` },
    reservation: { reference: 'SO-1001', amount: 8000, expires_at: '2026-11-25T10:21:03.310Z', mode: 'shared' },
    evaluated_at: '2026-11-24T10:21:03.310Z',
  }),
}

const RECORD = {
  decision_id: '019ab5a1-6c2e-7f3a-9d41-2b7c5e8f0a13',
  organization_id: '10234695',
  contact_id: '460000000026049',
  caller: 'shop',
  order: { amount: 6000, currency: 'INR', reference: 'SO-1001' },
  facts: facts({
    contact_id: '460000000026049',
    contact_name: 'Acme Retail Pvt Ltd',
    outstanding_bcy: 62400,
    unused_credits_bcy: 1369.66,
    order_amount: 6000,
    exposure_bcy: 68400,
    exposure_with_orders_bcy: 68400,
  }),
  rules_version: RULES_VERSION,
  decision: 'block',
  reasons: [OUTSTANDING_REASON],
  alerts: [CREDITS_ALERT],
  evaluated_at: '2026-11-24T10:00:42.120Z',
}

/** Examples by operationId and status: the decisions, and the one a release allowed. */
export const DECISION_OPERATIONS: Record<string, Record<string, Record<string, Example>>> = {
  getContactRisk: { '200': DECISION_EXAMPLES },
  getDecision: { '200': { block: ex('a blocked order, as recorded', RECORD) } },
  listDecisions: {
    '200': {
      page: ex('one page, and the cursor to the next', { decisions: [RECORD], next_cursor: '1764064842120-0.10234695' }),
      last: ex('the last page', { decisions: [], next_cursor: null }),
    },
  },
}
