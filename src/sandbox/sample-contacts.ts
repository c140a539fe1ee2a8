import { zohoContact } from './example-contact.js'

/**
 * Acme Retail's Zoho CRM account: its Indian company (460000000026049) and its Gulf arm
 * (470000000010003) are linked through it, so that the Gulf's group rule adds the two (README
 * "Several organizations").
 */
export const ACME_CRM_ACCOUNT = '2930984000000017001'

// The sample contacts (data): one per situation a rule cares about, with their documents and payment habits.

/** An open invoice of a sample contact: days until it is due (negative: past due), in its own currency. */
export interface SampleInvoice {
  readonly dueInDays: number
  readonly balance: number
  readonly total?: number
  readonly currency?: string
  readonly rate?: number
}

/** An open sales order of a sample contact. */
export interface SampleOrder {
  readonly total: number
  readonly status?: 'open' | 'partially_invoiced'
  /** The order system's reference (Zoho's reference_number), "" when none: what ends a creditgate reservation. */
  readonly reference?: string
}

export interface SampleContact {
  readonly id: string
  readonly shows: string
  readonly contact: Record<string, unknown>
  /** Its open invoices; default: one for the whole outstanding amount, due in 20 days. */
  readonly invoices?: readonly SampleInvoice[]
  readonly orders?: readonly SampleOrder[]
  /** How it paid its invoices of the last 12 months: days late of each monthly invoice, oldest first (negative: early). */
  readonly paid?: readonly number[]
}

/** A date custom field as Zoho prints it on a contact: value for people, the unformatted one for programs. */
const dateField = (api_name: string, label: string, day: string, index: number) => ({
  custom_fields: [{ api_name, label, value: day, data_type: 'date', index, customfield_id: `46000000004001${index}` }],
  custom_field_hash: { [api_name]: day, [`${api_name}_unformatted`]: day },
})

const withoutCreditLimit = (contact: Record<string, unknown>) => {
  const { credit_limit: _, ...rest } = contact
  return rest
}

/** A dozen contacts, one per situation a rule cares about (README shows each). */
export const SAMPLE_CONTACTS: readonly SampleContact[] = [
  {
    id: '460000000026049',
    shows: 'block: outstanding 62,400.00 over 50,000, with unused credits (alert)',
    contact: zohoContact('460000000026049', 'Acme Retail Pvt Ltd', {
      outstanding_receivable_amount_bcy: 62400,
      unused_credits_receivable_amount_bcy: 1369.66,
      zcrm_account_id: ACME_CRM_ACCOUNT,
    }),
  },
  {
    id: '460000000031001',
    shows: 'allow: a customer in good standing, who pays about 10 days early',
    contact: zohoContact('460000000031001', 'Bright Foods', { outstanding_receivable_amount_bcy: 12000 }),
    paid: [-10, -12, -8, -10, -11, -9, -10, -10, -12, -8, -10, -10],
  },
  {
    id: '460000000031002',
    shows: 'allow with alert APPLY_CREDITS_FIRST: 1,369.66 of unused credits',
    contact: zohoContact('460000000031002', 'Cedar Textiles', {
      outstanding_receivable_amount_bcy: 8000,
      unused_credits_receivable_amount_bcy: 1369.66,
    }),
  },
  {
    id: '460000000031003',
    shows: 'block: inactive contact',
    contact: zohoContact('460000000031003', 'Dormant Traders', { status: 'inactive', outstanding_receivable_amount_bcy: 0 }),
  },
  {
    id: '460000000031004',
    shows: 'allow, but block with an order over 2,000: credit limit 40,000 with 38,000 used',
    contact: zohoContact('460000000031004', 'Eastern Hardware', { outstanding_receivable_amount_bcy: 38000, credit_limit: 40000 }),
  },
  {
    id: '460000000031005',
    shows: 'allow: credit limit 0 means no limit',
    contact: zohoContact('460000000031005', 'Fern Pharma', { outstanding_receivable_amount_bcy: 20000, credit_limit: 0 }),
  },
  {
    id: '460000000031006',
    shows: 'allow: no credit_limit field at all',
    contact: withoutCreditLimit(zohoContact('460000000031006', 'Granite Works', { outstanding_receivable_amount_bcy: 30000 })),
  },
  {
    id: '4600000000000310071',
    shows: 'allow: a 19-digit id beyond 2^53',
    contact: zohoContact('4600000000000310071', 'Harbor Logistics', { outstanding_receivable_amount_bcy: 1500 }),
  },
  {
    id: '460000000031008',
    shows: 'allow: exactly 50,000.00 outstanding is not over 50,000',
    contact: zohoContact('460000000031008', 'Indigo Apparel', { outstanding_receivable_amount_bcy: 50000 }),
  },
  {
    id: '460000000031009',
    shows: 'block: already over its credit limit of 30,000',
    contact: zohoContact('460000000031009', 'Jade Electricals', { outstanding_receivable_amount_bcy: 35000, credit_limit: 30000 }),
  },
  {
    id: '460000000031010',
    shows: 'block: a USD customer whose 900.00 USD is 75,150.00 in base currency',
    contact: zohoContact('460000000031010', 'Keystone Imports LLC', {
      currency_code: 'USD',
      currency_symbol: '$',
      exchange_rate: 83.5,
      outstanding_receivable_amount: 900,
      outstanding_receivable_amount_bcy: 75150,
    }),
  },
  {
    id: '460000000031011',
    shows: 'allow: custom fields set (cf_credit_hold false, cf_segment "wholesale")',
    contact: zohoContact('460000000031011', 'Lotus Stores', {
      outstanding_receivable_amount_bcy: 4000,
      custom_fields: [
        {
          api_name: 'cf_credit_hold',
          label: 'Credit hold',
          value: false,
          data_type: 'check_box',
          index: 1,
          customfield_id: '460000000040001',
        },
        { api_name: 'cf_segment', label: 'Segment', value: 'wholesale', data_type: 'string', index: 2, customfield_id: '460000000040002' },
      ],
      custom_field_hash: {
        cf_credit_hold: 'false',
        cf_credit_hold_unformatted: false,
        cf_segment: 'wholesale',
        cf_segment_unformatted: 'wholesale',
      },
    }),
  },
  {
    id: '460000000031012',
    shows: 'review: an invoice 45 days past due (OVERDUE_OVER_30_DAYS), partially paid',
    contact: zohoContact('460000000031012', 'Meridian Foods', { outstanding_receivable_amount_bcy: 18000 }),
    invoices: [
      { dueInDays: 10, balance: 12000 },
      { dueInDays: -45, balance: 6000, total: 10000 },
    ],
  },
  {
    id: '460000000031013',
    shows: 'block: an invoice 120 days past due (OVERDUE_OVER_90_DAYS)',
    contact: zohoContact('460000000031013', 'Northgate Traders', { outstanding_receivable_amount_bcy: 24000 }),
    invoices: [
      { dueInDays: -120, balance: 9000 },
      { dueInDays: -20, balance: 15000 },
    ],
  },
  {
    id: '460000000031014',
    shows: 'block: credit hold set in Zoho (cf_credit_hold = On, MANUAL_CREDIT_HOLD)',
    contact: zohoContact('460000000031014', 'Orchid Distributors', {
      outstanding_receivable_amount_bcy: 5000,
      custom_fields: [
        {
          api_name: 'cf_credit_hold',
          label: 'Credit hold',
          value: 'On',
          data_type: 'dropdown',
          index: 1,
          customfield_id: '460000000040001',
        },
      ],
      custom_field_hash: { cf_credit_hold: 'On', cf_credit_hold_unformatted: 'On' },
    }),
  },
  {
    id: '460000000031015',
    shows: 'allow; block with an order over 2,000: limit 40,000, 30,000 owed and 8,000 on open sales orders',
    contact: zohoContact('460000000031015', 'Pinnacle Supplies', { outstanding_receivable_amount_bcy: 30000, credit_limit: 40000 }),
    orders: [{ total: 5000 }, { total: 3000, status: 'partially_invoiced' }],
  },
  {
    id: '460000000031016',
    shows: 'allow: a EUR invoice 12 days past due, 200.00 EUR = 18,000.00 in base currency; another due today',
    contact: zohoContact('460000000031016', 'Quartz Exports GmbH', {
      currency_code: 'EUR',
      exchange_rate: 90,
      outstanding_receivable_amount: 300,
      outstanding_receivable_amount_bcy: 27000,
    }),
    invoices: [
      { dueInDays: -12, balance: 200, currency: 'EUR', rate: 90 },
      { dueInDays: 0, balance: 100, currency: 'EUR', rate: 90 },
    ],
  },
  {
    id: '460000000031017',
    shows: 'allow with alert PAYS_LATE: current today, but always about 40 days late',
    contact: zohoContact('460000000031017', 'Slowpay Traders', { outstanding_receivable_amount_bcy: 9000 }),
    paid: [38, 41, 40, 42, 39, 40, 41, 38, 40, 42, 39, 40],
  },
  {
    id: '460000000031018',
    shows: 'allow with alert PAYS_LATE: on time for nine months, 40 to 60 days late in the last three (days_late_trend > 0)',
    contact: zohoContact('460000000031018', 'Fading Logistics', { outstanding_receivable_amount_bcy: 7000 }),
    paid: [0, 0, 1, 0, 0, 2, 0, 0, 0, 40, 50, 60],
  },
  {
    id: '460000000031019',
    shows: 'review: its credit review date (cf_credit_review_date) has passed (CREDIT_REVIEW_OVERDUE)',
    contact: zohoContact('460000000031019', 'Harbor Mills', {
      outstanding_receivable_amount_bcy: 4000,
      ...dateField('cf_credit_review_date', 'Credit review date', '2025-06-30', 3),
    }),
  },
  {
    id: '460000000031020',
    shows: 'block: a temporary credit limit that ran out (cf_credit_limit_until, CREDIT_LIMIT_EXPIRED); alert: 85 % used',
    contact: zohoContact('460000000031020', 'Lumen Retail', {
      outstanding_receivable_amount_bcy: 17000,
      credit_limit: 20000,
      ...dateField('cf_credit_limit_until', 'Credit limit until', '2025-12-31', 4),
    }),
  },
]
