import type { Facts } from '../domain/facts.js'

/**
 * The fact catalogue: every name a rule may use, its kind, and what it means. rules/README.md
 * documents the same list for operations staff; a test keeps the two in step.
 */
export type FactKind = 'amount' | 'number' | 'string' | 'boolean' | 'object'

/**
 * Where a fact's value comes from: the Zoho contact, the organization (its base currency), the
 * organization's open invoices and sales orders, its paid invoices, the live reservations, the
 * order asked about, or worked out from the contact and the order.
 */
export type FactSource = 'contact' | 'organization' | 'receivables' | 'payments' | 'reservations' | 'order' | 'computed'

export interface FactInfo {
  readonly kind: FactKind
  readonly nullable: boolean
  readonly source: FactSource
  readonly description: string
}

export const FACTS: { readonly [K in keyof Facts]: FactInfo } = {
  contact: {
    kind: 'object',
    nullable: false,
    source: 'contact',
    description: 'the Zoho Books contact as fetched; use with `path`, e.g. "$.payment_terms"',
  },
  contact_id: { kind: 'string', nullable: false, source: 'contact', description: 'the Zoho contact id (a string of digits)' },
  contact_name: { kind: 'string', nullable: false, source: 'contact', description: 'the contact’s display name' },
  contact_type: { kind: 'string', nullable: true, source: 'contact', description: '"customer" or "vendor"' },
  status: { kind: 'string', nullable: false, source: 'contact', description: '"active" or "inactive"' },
  currency_code: {
    kind: 'string',
    nullable: true,
    source: 'contact',
    description: 'the contact’s currency, e.g. "INR" (amounts below are in the base currency)',
  },
  base_currency: {
    kind: 'string',
    nullable: true,
    source: 'organization',
    description: 'the organization’s base currency, e.g. "AED": every _bcy amount is in it; null when not known',
  },
  outstanding_bcy: { kind: 'amount', nullable: false, source: 'contact', description: 'outstanding receivables, base currency' },
  unused_credits_bcy: {
    kind: 'amount',
    nullable: false,
    source: 'contact',
    description: 'unused credits (credit notes, excess payments), base currency; 0 when none',
  },
  credit_limit: {
    kind: 'amount',
    nullable: true,
    source: 'contact',
    description: 'the contact’s credit limit; null when Zoho sends none or 0 (no limit)',
  },
  order_amount: {
    kind: 'amount',
    nullable: false,
    source: 'order',
    description: 'the amount of the order being placed; 0 when the caller sent none',
  },
  exposure_bcy: { kind: 'amount', nullable: false, source: 'computed', description: 'outstanding_bcy + order_amount' },
  available_credit_bcy: {
    kind: 'amount',
    nullable: true,
    source: 'computed',
    description: 'credit_limit − outstanding_bcy; null when there is no credit limit',
  },
  payment_terms: { kind: 'number', nullable: true, source: 'contact', description: 'payment terms in days; null when unset' },
  contact_age_seconds: {
    kind: 'number',
    nullable: false,
    source: 'computed',
    description: 'how old the contact data is, in seconds (0 when fetched now)',
  },
  custom_fields: {
    kind: 'object',
    nullable: false,
    source: 'contact',
    description: 'custom fields by api_name; use with `path`, e.g. "$.cf_credit_hold"',
  },
  overdue_bcy: {
    kind: 'amount',
    nullable: false,
    source: 'receivables',
    description: 'balance of the invoices past their due date, base currency',
  },
  oldest_overdue_days: {
    kind: 'number',
    nullable: false,
    source: 'receivables',
    description: 'days past due of the oldest overdue invoice; 0 when nothing is past due',
  },
  overdue_invoices: { kind: 'number', nullable: false, source: 'receivables', description: 'how many invoices are past due' },
  overdue_ratio: {
    kind: 'number',
    nullable: false,
    source: 'receivables',
    description: 'overdue_bcy ÷ outstanding_bcy, 0 to 1; 0 when nothing is outstanding',
  },
  open_orders_bcy: {
    kind: 'amount',
    nullable: false,
    source: 'receivables',
    description: 'open and partially invoiced sales orders, their whole totals, base currency',
  },
  reserved_bcy: {
    kind: 'amount',
    nullable: false,
    source: 'reservations',
    description: 'the customer’s other live reservations: allowed orders with a reference that Zoho does not list yet; 0 when none',
  },
  exposure_with_orders_bcy: {
    kind: 'amount',
    nullable: false,
    source: 'receivables',
    description: 'outstanding_bcy + open_orders_bcy + reserved_bcy + order_amount',
  },
  paid_invoices_12m: {
    kind: 'number',
    nullable: false,
    source: 'payments',
    description: 'invoices paid in full in the last 12 months (by last payment date)',
  },
  avg_days_to_pay_12m: {
    kind: 'number',
    nullable: true,
    source: 'payments',
    description: 'mean days from invoice date to last payment date over the 12 months; null when nothing was paid',
  },
  avg_days_late_12m: {
    kind: 'number',
    nullable: true,
    source: 'payments',
    description: 'mean of max(0, last payment date − due date) over the 12 months; null when nothing was paid',
  },
  weighted_days_late_12m: {
    kind: 'number',
    nullable: true,
    source: 'payments',
    description: 'days late weighted by invoice total in base currency over the 12 months; null when nothing was paid',
  },
  days_late_trend: {
    kind: 'number',
    nullable: true,
    source: 'payments',
    description:
      'weighted days late of the last 91 days − that of the 12 months (positive: getting worse); null when nothing was paid in the 91 days',
  },
  credit_review_overdue_days: {
    kind: 'number',
    nullable: true,
    source: 'contact',
    description: 'days since the credit review date (CREDIT_REVIEW_DATE_FIELD) passed, 0 until then; null when the field is unset',
  },
  credit_limit_expired: {
    kind: 'boolean',
    nullable: false,
    source: 'contact',
    description: 'true when the limit’s last day (CREDIT_LIMIT_UNTIL_FIELD) is before today: no credit, not no limit',
  },
  credit_limit_utilization: {
    kind: 'number',
    nullable: true,
    source: 'receivables',
    description: 'exposure_with_orders_bcy ÷ credit_limit (1 = at the limit); null without a limit or receivables facts',
  },
  group_exposure_bcy: {
    kind: 'amount',
    nullable: false,
    // From exposure_bcy and the group's contact listings (group-exposure.ts).
    source: 'computed',
    description:
      'exposure_bcy + the outstanding receivables of the customers linked to this one in the group’s other organizations (ORGANIZATIONS_FILE groups), converted with the group’s rates; exposure_bcy alone when the customer is not linked or the organization is in no group',
  },
}

/** The facts read from the contact listings of the organization's group (refreshed in the background). */
export const GROUP_FACTS: ReadonlySet<FactName> = new Set(['group_exposure_bcy'])

/** The facts read from the organization's open invoices and sales orders (refreshed in the background). */
export const RECEIVABLES_FACTS: ReadonlySet<FactName> = new Set([
  'overdue_bcy',
  'oldest_overdue_days',
  'overdue_invoices',
  'overdue_ratio',
  'open_orders_bcy',
  'reserved_bcy',
  'exposure_with_orders_bcy',
  'credit_limit_utilization',
])

export type FactName = keyof Facts
export const FACT_NAMES = Object.keys(FACTS) as [FactName, ...FactName[]]

/** The facts read from the organization's paid invoices of the last 12 months (refreshed in the background). */
export const PAYMENT_FACTS: ReadonlySet<FactName> = new Set([
  'paid_invoices_12m',
  'avg_days_to_pay_12m',
  'avg_days_late_12m',
  'weighted_days_late_12m',
  'days_late_trend',
])

/** The operators a rule may use, each with how it treats its two sides. */
export type OperatorShape = 'same' | 'numeric' | 'list' | 'member'

/** Each operator: how it treats its two sides, the words the console and trace read it as ("is more than"), what it does. */
export const OPERATORS = {
  equal: { shape: 'same', words: 'is', description: 'the fact equals the value' },
  notEqual: { shape: 'same', words: 'is not', description: 'the fact differs from the value' },
  lessThan: { shape: 'numeric', words: 'is less than', description: 'fact < value (false when either side is missing)' },
  lessThanInclusive: { shape: 'numeric', words: 'is at most', description: 'fact ≤ value (false when either side is missing)' },
  greaterThan: { shape: 'numeric', words: 'is more than', description: 'fact > value (false when either side is missing)' },
  greaterThanInclusive: { shape: 'numeric', words: 'is at least', description: 'fact ≥ value (false when either side is missing)' },
  in: { shape: 'list', words: 'is one of', description: 'the fact is one of the values in a list' },
  notIn: { shape: 'list', words: 'is not one of', description: 'the fact is none of the values in a list' },
  contains: { shape: 'member', words: 'contains', description: 'the fact (a list, e.g. a contact’s tags) contains the value' },
  doesNotContain: { shape: 'member', words: 'does not contain', description: 'the fact (a list) does not contain the value' },
} as const satisfies Record<string, { shape: OperatorShape; words: string; description: string }>

export type OperatorName = keyof typeof OPERATORS
export const OPERATOR_NAMES = Object.keys(OPERATORS) as [OperatorName, ...OperatorName[]]

// The contact fields a `path` on the `contact` fact may start with: a list of its own.
export { CONTACT_FIELDS } from './contact-fields.js'
