import { zohoContact } from './example-contact.js'

/** The sandbox's two organizations. */
export const SANDBOX_ORGANIZATION_ID = '10234695'
export const SANDBOX_SECOND_ORGANIZATION_ID = '10234696'

/** Credentials the sandbox's token endpoint accepts (a self-client of the sandbox's own). */
export const SANDBOX_CREDENTIALS = {
  clientId: '1000.SANDBOXCLIENT0000000000000000',
  clientSecret: 'sandbox-client-secret-not-a-real-one',
  refreshToken: '1000.sandbox-refresh-token.not-a-real-one',
} as const

export { zohoContact }

export interface SampleContact {
  readonly id: string
  readonly shows: string
  readonly contact: Record<string, unknown>
}

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
    }),
  },
  {
    id: '460000000031001',
    shows: 'allow: a customer in good standing',
    contact: zohoContact('460000000031001', 'Bright Foods', { outstanding_receivable_amount_bcy: 12000 }),
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
]

/** Contacts per organization: the sample set in the default one, two in the second. */
export function sampleOrganizations(): Map<string, Map<string, Record<string, unknown>>> {
  const first = new Map(SAMPLE_CONTACTS.map((c) => [c.id, structuredClone(c.contact)]))
  const second = new Map([
    ['470000000010001', zohoContact('470000000010001', 'Northwind Branch', { outstanding_receivable_amount_bcy: 2500 })],
    ['470000000010002', zohoContact('470000000010002', 'Northwind Overdue', { outstanding_receivable_amount_bcy: 51000 })],
  ])
  return new Map([
    [SANDBOX_ORGANIZATION_ID, first],
    [SANDBOX_SECOND_ORGANIZATION_ID, second],
  ])
}
