import { PROBLEMS, type ProblemCode, problemType } from '../errors.js'

/**
 * Named examples for the OpenAPI document (data): one per outcome of each operation and one per
 * error. Swagger UI shows them in a drop-down; the linter checks they match the schemas.
 * document.ts puts them in the document.
 */

export type Example = { summary: string; value: unknown }

const RULES_VERSION = 'sha256:967be2b864317ef0ddc01cf40998cc4af8dcb84a36b4e7d724af6b311af46804'

const facts = (over: Record<string, unknown>) => ({
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
  ...over,
})

const decision = (over: Record<string, unknown>) => ({
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

const OUTSTANDING_REASON = {
  rule: 'outstanding-over-50000',
  code: 'OUTSTANDING_OVER_LIMIT',
  severity: 'block',
  message: 'Outstanding receivables 62,400.00 exceed 50,000.00',
} as const

const CREDITS_ALERT = {
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

const PROBLEM_DETAILS: Record<ProblemCode, string> = {
  invalid_request: 'querystring.order_amount: must be an amount ≥ 0 like 1000 or 1000.50 (no sign, no separators)',
  invalid_contact_id: 'params.contact_id: must be 1 to 19 decimal digits',
  unauthorized: 'send an API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
  forbidden: 'organization 99999 is not one this service may ask about',
  not_found: 'no route for GET /contact/460000000026049/risk',
  contact_not_found: 'contact 460000000099999 does not exist in organization 10234695',
  decision_not_found: 'no decision with this id is kept for this API key',
  case_not_found: 'no case with this id is visible to this API key',
  case_conflict: 'the rule manual-credit-hold is marked "releasable": false: this hold cannot be released',
  reservation_not_found: 'no live reservation with this reference is kept for this API key',
  method_not_allowed: 'PUT is not allowed on /contacts/460000000026049/risk; allowed: GET, HEAD, POST',
  request_timeout: 'the request cannot be read as HTTP/1.1',
  payload_too_large: 'Request body is too large',
  unsupported_media_type: 'Unsupported Media Type: text/plain; send application/json',
  invalid_rules: '1 error(s) in the candidate rules: my-rule.json $.conditions.all[0].fact: unknown fact "outstandng_bcy"',
  headers_too_large: 'the request cannot be read as HTTP/1.1',
  rate_limited: 'more than 3000 requests per minute for this key',
  internal_error: 'an unexpected error occurred; the log has the details under this request_id',
  evaluation_failed: 'the rules could not be evaluated completely; no decision was made',
  upstream_error: 'organization 10234695 is not accessible with the configured Zoho credentials (code 6041)',
  upstream_unavailable: 'Zoho did not answer after 3 attempts (timed out after 5000 ms)',
  not_ready: 'shutting down',
}

export function problemExample(code: ProblemCode): Example {
  return {
    summary: `${code}: ${PROBLEMS[code].title}`,
    value: {
      type: problemType(code),
      title: PROBLEMS[code].title,
      status: PROBLEMS[code].status,
      detail: PROBLEM_DETAILS[code],
      code,
      request_id: '5d0c2b7e-3f4a-4e6b-8c1d-9a2f7e6b5c40',
    },
  }
}

const ex = (summary: string, value: unknown): Example => ({ summary, value })

const RULE_ERROR = {
  file: 'outstanding-over-50000.json',
  path: '$.conditions.all[0].fact',
  message: 'unknown fact "outstandng_bcy"; see the fact catalogue in rules/README.md',
}
const FIXTURES = { passed: 17, failures: [] }
const CANDIDATE_RULE = {
  file: 'large-order-review.json',
  content: {
    name: 'large-order-review',
    conditions: { all: [{ fact: 'order_amount', operator: 'greaterThan', value: 250000 }] },
    event: { type: 'review', params: { code: 'LARGE_ORDER', message: 'Order {{order_amount}} needs a second look' } },
  },
}
const SIGN_IN_PAGE =
  '<!doctype html>…<h1>Sign-in failed</h1><p>The identity provider cannot be reached just now. Try again in a minute.</p>…'
const INVALIDATED = { invalidated: [{ organization_id: '10234695', contact_id: '460000000026049' }] }

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
const row = (allow: number, review: number, block: number) => ({ allow, review, block })
const COMPARISON = {
  evaluated: 11950,
  changed: 37,
  not_comparable: 50,
  matrix: { allow: row(10402, 0, 37), review: row(0, 611, 0), block: row(0, 0, 900) },
  rules: [
    { name: 'outstanding-over-40000', fired_before: 0, fired_after: 892 },
    { name: 'outstanding-over-50000', fired_before: 855, fired_after: 0 },
    { name: 'inactive-contact', fired_before: 45, fired_after: 45 },
  ],
  examples: [
    {
      decision_id: '019ab5a1-6c2e-7f3a-9d41-2b7c5e8f0a13',
      contact_id: '460000000031003',
      before: 'allow',
      after: 'block',
      reasons_after: [
        {
          rule: 'outstanding-over-40000',
          code: 'OUTSTANDING_OVER_LIMIT',
          severity: 'block',
          message: 'Outstanding receivables 45,000.00 exceed 40,000.00',
        },
      ],
    },
  ],
}
const THRESHOLD_CANDIDATE = {
  file: 'outstanding-over-40000.json',
  content: {
    name: 'outstanding-over-40000',
    conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 40000 }] },
    event: {
      type: 'block',
      params: { code: 'OUTSTANDING_OVER_LIMIT', message: 'Outstanding receivables {{outstanding_bcy}} exceed 40,000.00' },
    },
  },
}

const LIMITED = { contact_id: '460000000031005', contact_name: 'Harbor Supplies', outstanding_bcy: 30000, credit_limit: 40000 }

/** Orders with a reference: what an allowed one holds, and the next one blocked by what is held. */
const RESERVATION_EXAMPLES: Record<string, Example> = {
  reserved: {
    summary: 'allow: the order holds 8,000.00 until Zoho lists it',
    value: decision({
      contact_id: LIMITED.contact_id,
      facts: facts({ ...LIMITED, order_amount: 8000, exposure_bcy: 38000, available_credit_bcy: 10000, exposure_with_orders_bcy: 38000 }),
      reservation: { reference: 'SO-2026-0042', amount: 8000, expires_at: '2026-11-25T10:00:42.120Z', mode: 'shared' },
    }),
  },
  held: {
    summary: 'block: a second order a second later, over the limit with the first one reserved',
    value: decision({
      decision: 'block',
      contact_id: LIMITED.contact_id,
      reasons: [
        {
          rule: 'credit-limit-exceeded',
          code: 'CREDIT_LIMIT_EXCEEDED',
          severity: 'block',
          message:
            'Exposure 46,000.00 (outstanding 30,000.00 + open orders 0.00 + reserved 8,000.00 + order 8,000.00) exceeds the credit limit of 40,000.00',
        },
      ],
      facts: facts({
        ...LIMITED,
        order_amount: 8000,
        exposure_bcy: 38000,
        available_credit_bcy: 10000,
        reserved_bcy: 8000,
        exposure_with_orders_bcy: 46000,
      }),
    }),
  },
}

/** Examples by operationId and status (one media type each). */
export const OPERATION_EXAMPLES: Record<string, Record<string, Record<string, Example>>> = {
  getContactRisk: { '200': DECISION_EXAMPLES },
  postContactRisk: { '200': { ...DECISION_EXAMPLES, ...RESERVATION_EXAMPLES } },
  cancelReservation: {
    '200': {
      cancelled: ex('the order was dropped: its 8,000.00 no longer counts', {
        cancelled: { reference: 'SO-2026-0042', contact_id: LIMITED.contact_id, organization_id: '10234695', amount: 8000 },
      }),
    },
  },
  getContactReservations: {
    '200': {
      held: ex('one live reservation, one Zoho lists now', {
        contact_id: LIMITED.contact_id,
        organization_id: '10234695',
        reserved_bcy: 8000,
        reservations: [
          {
            reference: 'SO-2026-0041',
            amount: 2000,
            caller: 'shop',
            created_at: '2026-11-24T09:12:00.000Z',
            expires_at: '2026-11-25T09:12:00.000Z',
            state: 'matched',
          },
          {
            reference: 'SO-2026-0042',
            amount: 8000,
            caller: 'shop',
            created_at: '2026-11-24T10:00:42.120Z',
            expires_at: '2026-11-25T10:00:42.120Z',
            state: 'live',
          },
        ],
        mode: 'shared',
      }),
    },
  },
  getHealth: { '200': { ok: ex('the process runs', { status: 'ok' }) } },
  getReadiness: {
    '200': {
      ready: ex('ready', {
        status: 'ready',
        checks: {
          rules: { ok: true, degraded: false, detail: `4 rules, ${RULES_VERSION}` },
          redis: { ok: true, detail: 'connected; 3 instances sharing it' },
          zoho: { ok: true, detail: 'data centre eu' },
        },
      }),
      degraded: ex('serving, with Redis unreachable', {
        status: 'degraded',
        checks: {
          rules: { ok: true, degraded: false, detail: `4 rules, ${RULES_VERSION}` },
          redis: { ok: true, degraded: true, detail: 'unreachable: serving from the in-process cache and budget' },
          zoho: { ok: true, detail: 'data centre eu' },
        },
      }),
    },
    '503': {
      not_ready: ex('shutting down', {
        status: 'not_ready',
        checks: { rules: { ok: true, detail: `4 rules, ${RULES_VERSION}` }, shutdown: { ok: false, detail: 'shutting down' } },
      }),
    },
  },
  getMetrics: {
    '200': {
      metrics: ex(
        'an excerpt',
        '# HELP creditgate_decisions_total Decisions by outcome\n# TYPE creditgate_decisions_total counter\ncreditgate_decisions_total{decision="block"} 12\ncreditgate_decisions_total{decision="allow"} 230\n',
      ),
    },
  },
  getRules: {
    '200': {
      active: ex('the active set; the last change was refused', {
        organization_id: null,
        own: false,
        organizations: [
          {
            organization_id: '10234695',
            name: 'Northwind Traders India',
            base_currency: 'INR',
            default: true,
            own: false,
            version: RULES_VERSION,
          },
          {
            organization_id: '10234696',
            name: 'Northwind Gulf',
            base_currency: 'AED',
            default: false,
            own: true,
            version: 'sha256:f8d463b781e38cfb3eb2dcb6ab8ed362a7c3c2588c58542e3d10707fe69e70e4',
          },
        ],
        version: RULES_VERSION,
        loaded_at: '2026-11-24T09:00:00.000Z',
        rules: [
          {
            file: 'outstanding-over-50000.json',
            name: 'outstanding-over-50000',
            description: 'Customers who owe more than 50,000 (base currency) may not place new orders until they pay.',
            type: 'block',
            code: 'OUTSTANDING_OVER_LIMIT',
            message: 'Outstanding receivables {{outstanding_bcy}} exceed 50,000.00',
            priority: 10,
            conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 50000 }] },
          },
        ],
        fixtures: FIXTURES,
        last_error: { at: '2026-11-24T10:15:00.000Z', trigger: 'file change: outstanding-over-50000.json', errors: [RULE_ERROR] },
      }),
    },
  },
  getFactCatalogue: {
    '200': {
      catalogue: ex('the catalogue (two of its facts, one operator)', {
        facts: [
          {
            name: 'outstanding_bcy',
            kind: 'amount',
            nullable: false,
            source: 'contact',
            description: 'outstanding receivables, base currency',
          },
          {
            name: 'oldest_overdue_days',
            kind: 'number',
            nullable: false,
            source: 'receivables',
            description: 'days past due of the oldest overdue invoice; 0 when nothing is past due',
          },
        ],
        operators: [{ name: 'greaterThan', words: 'is more than', description: 'fact > value (false when either side is missing)' }],
      }),
    },
  },
  getContactReceivables: {
    '200': {
      overdue: ex('a customer with an invoice 120 days past due', {
        contact_id: '460000000031013',
        organization_id: '10234695',
        receivables: {
          as_of: '2026-11-24T09:55:00.000Z',
          age_seconds: 342,
          ageing: { not_due: 0, days_1_30: 15000, days_31_60: 0, days_61_90: 0, over_90: 9000 },
          open_invoices: 2,
          open_orders_bcy: 0,
        },
      }),
      not_used: ex('no active rule reads receivables facts: nothing is read from Zoho', {
        contact_id: '460000000031013',
        organization_id: '10234695',
        receivables: null,
      }),
    },
  },
  listReceivables: {
    '200': {
      portfolio: ex('the largest exposures first', {
        organization_id: '10234695',
        as_of: '2026-11-24T09:55:00.000Z',
        age_seconds: 342,
        total: 9,
        offset: 0,
        next_offset: 2,
        customers: [
          {
            contact_id: '460000000026049',
            contact_name: 'Acme Retail Pvt Ltd',
            open_invoices: 3,
            open_invoices_bcy: 62400,
            open_orders_bcy: 0,
            exposure_bcy: 62400,
            overdue_bcy: 12400,
            overdue_invoices: 1,
            oldest_overdue_days: 12,
          },
          {
            contact_id: '460000000031015',
            contact_name: null,
            open_invoices: 1,
            open_invoices_bcy: 30000,
            open_orders_bcy: 8000,
            exposure_bcy: 38000,
            overdue_bcy: 0,
            overdue_invoices: 0,
            oldest_overdue_days: 0,
          },
        ],
      }),
      not_used: ex('no active rule reads receivables facts: nothing is read from Zoho', {
        organization_id: '10234695',
        as_of: null,
        age_seconds: null,
        total: 0,
        offset: 0,
        next_offset: null,
        customers: [],
      }),
    },
  },
  getContactPayments: {
    '200': {
      late: ex('a customer who pays about 40 days late, its review overdue', {
        contact_id: '460000000031018',
        organization_id: '10234695',
        payments: {
          as_of: '2026-11-24T02:00:00.000Z',
          age_seconds: 28842,
          paid_invoices_12m: 12,
          avg_days_to_pay_12m: 70,
          avg_days_late_12m: 40,
          weighted_days_late_12m: 40.4,
          days_late_trend: 0.3,
          months: [
            { month: '2025-12', invoices: 1, avg_days_to_pay: 69 },
            { month: '2026-01', invoices: 0, avg_days_to_pay: null },
            { month: '2026-11', invoices: 1, avg_days_to_pay: 71 },
          ],
        },
        credit_review_date: '2026-10-31',
        credit_review_overdue_days: 24,
        credit_limit_until: null,
        credit_limit_expired: false,
      }),
      not_used: ex('no active or shadow rule reads payment facts: no paid invoice is read from Zoho', {
        contact_id: '460000000031018',
        organization_id: '10234695',
        payments: null,
        credit_review_date: null,
        credit_review_overdue_days: null,
        credit_limit_until: '2026-12-31',
        credit_limit_expired: false,
      }),
    },
  },
  getZohoBudget: {
    '200': {
      budget: ex('two organizations', {
        organizations: [
          { organization_id: '10234695', calls_last_minute: 12, requests_per_minute: 90, max_concurrency: 8 },
          { organization_id: '10234696', calls_last_minute: 0, requests_per_minute: 90, max_concurrency: 8 },
        ],
      }),
    },
  },
  validateRules: {
    '200': {
      valid: ex('the set would go live', { valid: true, version: RULES_VERSION, errors: [], fixtures: FIXTURES }),
      invalid: ex('the set would be refused', { valid: false, version: null, errors: [RULE_ERROR], fixtures: { passed: 0, failures: [] } }),
    },
  },
  reloadRules: {
    '200': {
      activated: ex('the folder changed and went live', { result: 'activated', version: RULES_VERSION, fixtures: FIXTURES }),
      rejected: ex('the folder has an error: the last good set stays', {
        result: 'rejected',
        version: RULES_VERSION,
        errors: [RULE_ERROR],
        fixtures: { passed: 0, failures: [] },
      }),
    },
  },
  evaluateRisk: {
    '200': {
      block: ex('the active rules would block', {
        decision: 'block',
        reasons: [OUTSTANDING_REASON],
        alerts: [],
        facts: facts({
          contact_id: '460000000000001',
          contact_name: 'Fixture Customer',
          outstanding_bcy: 62400,
          order_amount: 1000,
          exposure_bcy: 63400,
          exposure_with_orders_bcy: 63400,
          contact_age_seconds: 0,
        }),
        rules_version: RULES_VERSION,
        evaluated_at: '2026-11-24T10:00:42.120Z',
      }),
    },
  },
  getDecision: { '200': { block: ex('a blocked order, as recorded', RECORD) } },
  listDecisions: {
    '200': {
      page: ex('one page, and the cursor to the next', { decisions: [RECORD], next_cursor: '1764064842120-0.10234695' }),
      last: ex('the last page', { decisions: [], next_cursor: null }),
    },
  },
  backtestRules: { '200': { changes: ex('a lower threshold: 37 allows become blocks', COMPARISON) } },
  getShadowRules: {
    '200': {
      running: ex('a stricter shadow set, a day after loading', {
        configured: true,
        organization_id: null,
        version: RULES_VERSION,
        loaded_at: '2026-11-24T09:00:00.000Z',
        last_error: null,
        ...COMPARISON,
      }),
      broken: ex('the shadow folder has an error: nothing loaded', {
        configured: true,
        organization_id: '10234696',
        version: null,
        loaded_at: null,
        last_error: { at: '2026-11-24T10:15:00.000Z', trigger: 'start', errors: [RULE_ERROR] },
        evaluated: 0,
        changed: 0,
        not_comparable: 0,
        matrix: { allow: row(0, 0, 0), review: row(0, 0, 0), block: row(0, 0, 0) },
        rules: [],
        examples: [],
      }),
    },
  },
  purgeContactCache: { '200': { purged: ex('forgotten by every instance', INVALIDATED) } },
  listProblems: { '200': { page: ex('the index (abridged)', '<!doctype html>…<h1>Problems creditgate reports</h1>…') } },
  getProblem: { '200': { page: ex('/problems/contact_not_found (abridged)', '<!doctype html>…<h1>Contact not found</h1>…') } },
  zohoWebhook: { '200': { invalidated: ex('invalidated in the organization named', INVALIDATED) } },
  signInOptions: {
    '200': {
      provider: ex('sign-in through the identity provider offered', { sign_in_url: '/auth/login' }),
      keys: ex('admin keys only', { sign_in_url: null }),
    },
  },
  signIn: {
    '302': { redirect: ex("to the provider's login page", null) },
    '400': { page: ex('return_to is not a console path', SIGN_IN_PAGE) },
    '404': { page: ex('no OIDC_CLIENT_ID', SIGN_IN_PAGE) },
    '503': { page: ex('the provider cannot be reached', SIGN_IN_PAGE) },
  },
  signInCallback: {
    '302': { redirect: ex('to the console, signed in', null) },
    '400': { page: ex('the state does not match this browser', SIGN_IN_PAGE) },
    '403': { page: ex('signed in without a creditgate role', SIGN_IN_PAGE) },
    '404': { page: ex('no OIDC_CLIENT_ID', SIGN_IN_PAGE) },
    '503': { page: ex("the provider's token endpoint refused the code", SIGN_IN_PAGE) },
  },
  whoAmI: {
    '200': {
      person: ex('a person signed in to the console', {
        sub: 'alice',
        name: 'Alice Approver',
        roles: ['approver'],
        via: 'oidc',
        csrf_token: 'kB3v0n6Q2dJ9yXfP1sLr8TqW5eUaZmHc4Gi7oYbNtVw',
      }),
      key: ex('an admin key', { sub: 'ops', name: 'ops', roles: ['admin'], via: 'key' }),
    },
  },
  signOut: {
    '200': {
      ended: ex('the session ended on the server', {
        signed_out: true,
        end_session_url: 'https://idp.example.com/session/end?client_id=creditgate-console',
      }),
    },
  },
}

const CASE_ID = 'case_3f2a9c0d41b7e85a6c1d2e3f'
const HELD_REASON = {
  rule: 'overdue-over-30-days',
  code: 'OVERDUE_OVER_30_DAYS',
  severity: 'review',
  message: 'The oldest unpaid invoice is 45 days past due',
}
const OPEN_CASE = {
  case_id: CASE_ID,
  state: 'open',
  organization_id: '10234695',
  contact_id: '460000000031012',
  order: { reference: 'SO-1001', amount: 8000, currency: 'INR' },
  decision_id: '019ab5a1-6c2e-7f3a-9d41-2b7c5e8f0a13',
  decision: 'review',
  reasons: [HELD_REASON],
  unreleasable: [],
  opened_at: '2026-11-24T10:00:42.120Z',
  opened_by: 'shop',
  expires_at: '2026-12-08T10:00:42.120Z',
  release: null,
  history: [
    {
      at: '2026-11-24T10:00:42.120Z',
      by: 'shop',
      event: 'opened',
      state: 'open',
      reason: 'held: OVERDUE_OVER_30_DAYS',
      decision_id: '019ab5a1-6c2e-7f3a-9d41-2b7c5e8f0a13',
    },
  ],
  revision: 1,
}
const ALICE = { sub: 'alice', name: 'Alice Approver', roles: ['approver'], via: 'oidc' }
const OPS_KEY = { sub: 'ops', name: 'ops', roles: ['admin'], via: 'key' }
const RELEASE = {
  case_id: CASE_ID,
  by: 'Alice Approver',
  actor: ALICE,
  at: '2026-11-24T10:20:00.000Z',
  reason: 'customer paid the overdue invoice by wire',
  amount: 8000,
  valid_until: '2026-12-01T10:20:00.000Z',
}
const RELEASED_CASE = {
  ...OPEN_CASE,
  state: 'released',
  release: RELEASE,
  revision: 2,
  history: [
    ...OPEN_CASE.history,
    { at: RELEASE.at, by: 'Alice Approver', actor: ALICE, event: 'released', state: 'released', reason: RELEASE.reason },
  ],
}
const REJECTED_CASE = {
  ...OPEN_CASE,
  state: 'rejected',
  revision: 2,
  history: [
    ...OPEN_CASE.history,
    { at: '2026-11-24T10:20:00.000Z', by: 'ops', actor: OPS_KEY, event: 'rejected', state: 'rejected', reason: 'customer in dispute' },
  ],
}
const CLEARED_CASE = {
  ...OPEN_CASE,
  state: 'cleared',
  revision: 2,
  history: [
    ...OPEN_CASE.history,
    {
      at: '2026-11-24T15:02:10.400Z',
      by: 'shop',
      event: 'cleared',
      state: 'cleared',
      reason: 'the rules now allow the order: nobody needs to release it',
      decision_id: '019ab6b8-2f41-7c0e-8a5d-4e3f2a1b0c9d',
    },
  ],
}
Object.assign(OPERATION_EXAMPLES, {
  listCases: {
    '200': {
      worklist: ex('the open cases, oldest first', { cases: [OPEN_CASE], next_cursor: null }),
      more: ex('a full page: next_cursor continues it', { cases: [REJECTED_CASE], next_cursor: `001764064842120.${CASE_ID}` }),
    },
  },
  listAudit: {
    '200': {
      trail: ex("a customer's trail, newest first", {
        entries: [
          {
            id: '1763979600000-0',
            at: RELEASE.at,
            kind: 'case.released',
            by: 'Alice Approver',
            actor: ALICE,
            organization_id: '10234695',
            contact_id: '460000000031012',
            case_id: CASE_ID,
            reason: RELEASE.reason,
            detail: 'order SO-1001: released up to 8000 until 2026-12-01T10:20:00.000Z',
          },
          {
            id: '1763978442120-0',
            at: OPEN_CASE.opened_at,
            kind: 'case.opened',
            by: 'shop',
            organization_id: '10234695',
            contact_id: '460000000031012',
            case_id: CASE_ID,
            decision_id: OPEN_CASE.decision_id,
            reason: 'held: OVERDUE_OVER_30_DAYS',
            detail: 'order SO-1001 of 8000',
          },
        ],
        next_cursor: null,
      }),
    },
  },
  getCase: {
    '200': {
      open: ex('waiting for the credit team', { ...OPEN_CASE, callbacks: [] }),
      cleared: ex('the rules allowed the order when it was asked again (the customer paid)', { ...CLEARED_CASE, callbacks: [] }),
      released: ex('released by a person signed in through the identity provider; the callback accepted at the second attempt', {
        ...RELEASED_CASE,
        callbacks: [
          {
            event_id: 'msg_5f0c2b7e9a1d4c3b8e6f7a2d1c0b9e8f',
            type: 'case.released',
            state: 'delivered',
            attempts: 2,
            last_result: 'accepted',
            at: '2026-11-24T10:20:05.120Z',
          },
        ],
      }),
    },
  },
  releaseCase: { '200': { released: ex('released for 7 days', RELEASED_CASE) } },
  rejectCase: { '200': { rejected: ex('rejected with a reason', REJECTED_CASE) } },
})
DECISION_EXAMPLES.released = {
  summary: 'allow: a held order released by the credit team (the same reference, within the tolerance)',
  value: {
    ...((DECISION_EXAMPLES.allow as Example).value as object),
    contact_id: '460000000031012',
    overridden: [HELD_REASON],
    release: RELEASE,
    case: { case_id: CASE_ID, state: 'released', status_url: `/cases/${CASE_ID}` },
  },
}

export const REQUEST_EXAMPLES: Record<string, Record<string, Record<string, Example>>> = {
  releaseCase: {
    'application/json': {
      reason: ex('the order as held, for RELEASE_VALID_DAYS', { reason: 'customer paid the overdue invoice by wire' }),
      limited: ex('a larger amount, until a date', {
        reason: 'agreed with the customer',
        note: 'payment plan signed',
        amount: 9000,
        valid_until: '2026-11-30T23:59:59Z',
      }),
    },
  },
  rejectCase: { 'application/json': { reason: ex('with a reason', { reason: 'customer in dispute', note: 'legal is involved' }) } },
  postContactRisk: {
    'application/json': {
      order: ex('an order of 6,000.00 with your reference', { order: { amount: 6000, currency: 'INR', reference: 'SO-1001' } }),
      explain: ex('no order, with a trace of every rule', { explain: true }),
      organization: ex('a contact of another allowed organization', { organization_id: '10234696', order: { amount: 1500 } }),
    },
  },
  validateRules: {
    'application/json': {
      candidate: ex('the shipped set plus a new review rule (abridged: send every file)', { rules: [CANDIDATE_RULE] }),
    },
  },
  backtestRules: {
    'application/json': {
      folder: ex('the files in RULES_DIR now, on the last 24 hours', { since: '24h' }),
      candidate: ex('a candidate set on the newest 10,000 decisions (abridged: send every file)', {
        rules: [THRESHOLD_CANDIDATE],
        limit: 10000,
      }),
    },
  },
  evaluateRisk: {
    'application/json': {
      contact: ex('a customer owing 62,400.00, with a trace', {
        contact: { outstanding_receivable_amount_bcy: 62400 },
        order: { amount: 1000 },
        explain: true,
      }),
      candidate: ex('the same customer under a candidate set', {
        contact: { outstanding_receivable_amount_bcy: 62400 },
        order: { amount: 300000 },
        rules: [CANDIDATE_RULE],
      }),
    },
  },
  zohoWebhook: {
    'application/json': {
      contact_id: ex('the contact id', { contact_id: '460000000026049', organization_id: '10234695' }),
      contact: ex('a contact object (only its id is used)', {
        contact: { contact_id: '460000000026049', contact_name: 'Acme Retail Pvt Ltd' },
      }),
    },
    'application/x-www-form-urlencoded': {
      form: ex('a form field', { contact_id: '460000000026049' }),
    },
  },
}
