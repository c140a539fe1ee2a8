import type { Facts } from '../domain/facts.js'

/**
 * The fact catalogue: every name a rule may use, its kind, and what it means. rules/README.md
 * documents the same list for operations staff; a test keeps the two in step.
 */
export type FactKind = 'amount' | 'number' | 'string' | 'boolean' | 'object'

export interface FactInfo {
  readonly kind: FactKind
  readonly nullable: boolean
  readonly description: string
}

export const FACTS: { readonly [K in keyof Facts]: FactInfo } = {
  contact: { kind: 'object', nullable: false, description: 'the Zoho Books contact as fetched; use with `path`, e.g. "$.payment_terms"' },
  contact_id: { kind: 'string', nullable: false, description: 'the Zoho contact id (a string of digits)' },
  contact_name: { kind: 'string', nullable: false, description: 'the contact’s display name' },
  contact_type: { kind: 'string', nullable: true, description: '"customer" or "vendor"' },
  status: { kind: 'string', nullable: false, description: '"active" or "inactive"' },
  currency_code: {
    kind: 'string',
    nullable: true,
    description: 'the contact’s currency, e.g. "INR" (amounts below are in the base currency)',
  },
  base_currency: {
    kind: 'string',
    nullable: true,
    description: 'the organization’s base currency, e.g. "AED": every _bcy amount is in it; null when not known',
  },
  outstanding_bcy: { kind: 'amount', nullable: false, description: 'outstanding receivables, base currency' },
  unused_credits_bcy: {
    kind: 'amount',
    nullable: false,
    description: 'unused credits (credit notes, excess payments), base currency; 0 when none',
  },
  credit_limit: { kind: 'amount', nullable: true, description: 'the contact’s credit limit; null when Zoho sends none or 0 (no limit)' },
  order_amount: { kind: 'amount', nullable: false, description: 'the amount of the order being placed; 0 when the caller sent none' },
  exposure_bcy: { kind: 'amount', nullable: false, description: 'outstanding_bcy + order_amount' },
  available_credit_bcy: {
    kind: 'amount',
    nullable: true,
    description: 'credit_limit − outstanding_bcy; null when there is no credit limit',
  },
  payment_terms: { kind: 'number', nullable: true, description: 'payment terms in days; null when unset' },
  contact_age_seconds: { kind: 'number', nullable: false, description: 'how old the contact data is, in seconds (0 when fetched now)' },
  custom_fields: { kind: 'object', nullable: false, description: 'custom fields by api_name; use with `path`, e.g. "$.cf_credit_hold"' },
  overdue_bcy: { kind: 'amount', nullable: false, description: 'balance of the invoices past their due date, base currency' },
  oldest_overdue_days: {
    kind: 'number',
    nullable: false,
    description: 'days past due of the oldest overdue invoice; 0 when nothing is past due',
  },
  overdue_invoices: { kind: 'number', nullable: false, description: 'how many invoices are past due' },
  overdue_ratio: { kind: 'number', nullable: false, description: 'overdue_bcy ÷ outstanding_bcy, 0 to 1; 0 when nothing is outstanding' },
  open_orders_bcy: {
    kind: 'amount',
    nullable: false,
    description: 'open and partially invoiced sales orders, their whole totals, base currency',
  },
  reserved_bcy: {
    kind: 'amount',
    nullable: false,
    description: 'the customer’s other live reservations: allowed orders with a reference that Zoho does not list yet; 0 when none',
  },
  exposure_with_orders_bcy: {
    kind: 'amount',
    nullable: false,
    description: 'outstanding_bcy + open_orders_bcy + reserved_bcy + order_amount',
  },
  paid_invoices_12m: { kind: 'number', nullable: false, description: 'invoices paid in full in the last 12 months (by last payment date)' },
  avg_days_to_pay_12m: {
    kind: 'number',
    nullable: true,
    description: 'mean days from invoice date to last payment date over the 12 months; null when nothing was paid',
  },
  avg_days_late_12m: {
    kind: 'number',
    nullable: true,
    description: 'mean of max(0, last payment date − due date) over the 12 months; null when nothing was paid',
  },
  weighted_days_late_12m: {
    kind: 'number',
    nullable: true,
    description: 'days late weighted by invoice total in base currency over the 12 months; null when nothing was paid',
  },
  days_late_trend: {
    kind: 'number',
    nullable: true,
    description:
      'weighted days late of the last 91 days − that of the 12 months (positive: getting worse); null when nothing was paid in the 91 days',
  },
  credit_review_overdue_days: {
    kind: 'number',
    nullable: true,
    description: 'days since the credit review date (CREDIT_REVIEW_DATE_FIELD) passed, 0 until then; null when the field is unset',
  },
  credit_limit_expired: {
    kind: 'boolean',
    nullable: false,
    description: 'true when the limit’s last day (CREDIT_LIMIT_UNTIL_FIELD) is before today: no credit, not no limit',
  },
  credit_limit_utilization: {
    kind: 'number',
    nullable: true,
    description: 'exposure_with_orders_bcy ÷ credit_limit (1 = at the limit); null without a limit or receivables facts',
  },
  group_exposure_bcy: {
    kind: 'amount',
    nullable: false,
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

export const OPERATORS = {
  equal: { shape: 'same', description: 'the fact equals the value' },
  notEqual: { shape: 'same', description: 'the fact differs from the value' },
  lessThan: { shape: 'numeric', description: 'fact < value (false when either side is missing)' },
  lessThanInclusive: { shape: 'numeric', description: 'fact ≤ value (false when either side is missing)' },
  greaterThan: { shape: 'numeric', description: 'fact > value (false when either side is missing)' },
  greaterThanInclusive: { shape: 'numeric', description: 'fact ≥ value (false when either side is missing)' },
  in: { shape: 'list', description: 'the fact is one of the values in a list' },
  notIn: { shape: 'list', description: 'the fact is none of the values in a list' },
  contains: { shape: 'member', description: 'the fact (a list, e.g. a contact’s tags) contains the value' },
  doesNotContain: { shape: 'member', description: 'the fact (a list) does not contain the value' },
} as const satisfies Record<string, { shape: OperatorShape; description: string }>

export type OperatorName = keyof typeof OPERATORS
export const OPERATOR_NAMES = Object.keys(OPERATORS) as [OperatorName, ...OperatorName[]]

/**
 * Top-level contact keys a `path` on the `contact` fact may start with: the fields of a Zoho
 * Books contact (those of a real contact and documented ones it lacks: docs/zoho.md).
 */
export const CONTACT_FIELDS: ReadonlySet<string> = new Set([
  'ach_supported',
  'addresses',
  'associated_with_square',
  'bank_accounts',
  'billing_address',
  'can_show_customer_ob',
  'can_show_vendor_ob',
  'cards',
  'checks',
  'company_name',
  'contact_category',
  'contact_id',
  'contact_name',
  'contact_persons',
  'contact_salutation',
  'contact_type',
  'country_code',
  'created_date',
  'created_time',
  'credit_limit',
  'credit_limit_exceeded_amount',
  'crm_owner_id',
  'currency_code',
  'currency_id',
  'currency_symbol',
  'custom_field_hash',
  'custom_fields',
  'customer_sub_type',
  'default_templates',
  'department',
  'designation',
  'documents',
  'email',
  'exchange_rate',
  'facebook',
  'first_name',
  'gst_no',
  'gst_treatment',
  'has_transaction',
  'is_client_review_asked',
  'is_client_review_settings_enabled',
  'is_crm_customer',
  'is_linked_with_zohocrm',
  'is_portal_enabled',
  'is_sms_enabled',
  'is_taxable',
  'language_code',
  'language_code_formatted',
  'last_modified_time',
  'last_name',
  'mobile',
  'notes',
  'opening_balance_amount',
  'opening_balance_amount_bcy',
  'outstanding_ob_payable_amount',
  'outstanding_ob_receivable_amount',
  'outstanding_payable_amount',
  'outstanding_payable_amount_bcy',
  'outstanding_receivable_amount',
  'outstanding_receivable_amount_bcy',
  'owner_id',
  'owner_name',
  'pan_no',
  'payment_reminder_enabled',
  'payment_terms',
  'payment_terms_label',
  'phone',
  'place_of_contact',
  'portal_receipt_count',
  'portal_status',
  'price_precision',
  'pricebook_id',
  'pricebook_name',
  'primary_contact_id',
  'sales_channel',
  'shipping_address',
  'source',
  'status',
  'tags',
  'tax_authority_id',
  'tax_exemption_id',
  'tax_id',
  'tax_info_list',
  'tax_name',
  'tax_percentage',
  'tax_reg_no',
  'tax_treatment',
  'tds_tax_id',
  'twitter',
  'unused_credits_payable_amount',
  'unused_credits_payable_amount_bcy',
  'unused_credits_receivable_amount',
  'unused_credits_receivable_amount_bcy',
  'unused_retainer_payments',
  'vat_reg_no',
  'vat_treatment',
  'vpa_list',
  'website',
  'zcrm_account_id',
  'zcrm_contact_id',
  'zohopeople_client_id',
])
