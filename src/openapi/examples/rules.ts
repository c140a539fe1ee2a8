import { facts, OUTSTANDING_REASON, RULES_VERSION } from './decisions.js'
import { type Example, ex } from './example.js'

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

/** Examples by operationId and status: the rule set, its checks, backtests and the shadow set. */
export const RULE_OPERATIONS: Record<string, Record<string, Record<string, Example>>> = {
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
  backtestRules: { '200': { changes: ex('a lower threshold: 37 allows become blocks', COMPARISON) } },
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
}

export const RULE_REQUESTS: Record<string, Record<string, Record<string, Example>>> = {
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
}
