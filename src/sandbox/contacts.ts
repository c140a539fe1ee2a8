import { zohoContact } from './example-contact.js'
import { ACME_CRM_ACCOUNT, SAMPLE_CONTACTS, type SampleInvoice, type SampleOrder } from './sample-contacts.js'

export { SAMPLE_CONTACTS, type SampleContact, type SampleInvoice, type SampleOrder } from './sample-contacts.js'

/** The sandbox's two organizations. */
export const SANDBOX_ORGANIZATION_ID = '10234695'
export const SANDBOX_SECOND_ORGANIZATION_ID = '10234696'

/** The sandbox organizations as Get Organization describes them: an Indian company and its Gulf branch. */
export const SANDBOX_ORGANIZATION_PROFILES: Readonly<Record<string, Record<string, unknown>>> = {
  [SANDBOX_ORGANIZATION_ID]: {
    organization_id: SANDBOX_ORGANIZATION_ID,
    name: 'Northwind Traders India',
    currency_code: 'INR',
    currency_symbol: '₹',
    time_zone: 'Asia/Kolkata',
    country: 'India',
  },
  [SANDBOX_SECOND_ORGANIZATION_ID]: {
    organization_id: SANDBOX_SECOND_ORGANIZATION_ID,
    name: 'Northwind Gulf',
    currency_code: 'AED',
    currency_symbol: 'AED',
    time_zone: 'Asia/Dubai',
    country: 'U.A.E',
  },
}

/** Credentials the sandbox's token endpoint accepts (a self-client of the sandbox's own). */
export const SANDBOX_CREDENTIALS = {
  clientId: '1000.SANDBOXCLIENT0000000000000000',
  clientSecret: 'sandbox-client-secret-not-a-real-one',
  refreshToken: '1000.sandbox-refresh-token.not-a-real-one',
} as const

export { ACME_CRM_ACCOUNT, zohoContact }

/** Contacts per organization: the sample set in the default one, three in the second. */
export function sampleOrganizations(): Map<string, Map<string, Record<string, unknown>>> {
  const first = new Map(SAMPLE_CONTACTS.map((c) => [c.id, structuredClone(c.contact)]))
  const second = new Map([
    ['470000000010001', zohoContact('470000000010001', 'Northwind Branch', { outstanding_receivable_amount_bcy: 2500 })],
    ['470000000010002', zohoContact('470000000010002', 'Northwind Overdue', { outstanding_receivable_amount_bcy: 51000 })],
    [
      '470000000010003',
      zohoContact('470000000010003', 'Acme Retail Gulf', { outstanding_receivable_amount_bcy: 19000, zcrm_account_id: ACME_CRM_ACCOUNT }),
    ],
  ])
  return new Map([
    [SANDBOX_ORGANIZATION_ID, first],
    [SANDBOX_SECOND_ORGANIZATION_ID, second],
  ])
}

const DAY_MS = 86_400_000
const dateIn = (days: number, now: number) => new Date(now + days * DAY_MS).toISOString().slice(0, 10)

/** An invoice as List invoices prints it (documentation example, with Zoho's " " for unset dates). */
export function listedInvoice(id: string, customerId: string, invoice: SampleInvoice, now: number): Record<string, unknown> {
  const total = invoice.total ?? invoice.balance
  return {
    invoice_id: id,
    customer_id: customerId,
    customer_name: '',
    status: invoice.dueInDays < 0 ? 'overdue' : total > invoice.balance ? 'partially_paid' : 'sent',
    invoice_number: `INV-${id.slice(-5)}`,
    date: dateIn(invoice.dueInDays - 30, now),
    due_date: dateIn(invoice.dueInDays, now),
    due_days: invoice.dueInDays < 0 ? `Overdue by ${-invoice.dueInDays} day(s)` : `Due in ${invoice.dueInDays} day(s)`,
    currency_code: invoice.currency ?? 'INR',
    total,
    balance: invoice.balance,
    exchange_rate: invoice.rate ?? 1,
    reminders_sent: 0,
    payment_expected_date: ' ',
    last_payment_date: total > invoice.balance ? dateIn(-5, now) : ' ',
    created_time: `${dateIn(invoice.dueInDays - 30, now)}T10:00:00+0530`,
    last_modified_time: `${dateIn(-1, now)}T10:00:00+0530`,
  }
}

export function listedSalesOrder(id: string, customerId: string, order: SampleOrder, now: number): Record<string, unknown> {
  return {
    salesorder_id: id,
    customer_id: customerId,
    customer_name: '',
    salesorder_number: `SO-${id.slice(-5)}`,
    reference_number: order.reference ?? '',
    status: order.status ?? 'open',
    date: dateIn(-3, now),
    shipment_date: ' ',
    currency_code: 'INR',
    exchange_rate: 1,
    total: order.total,
  }
}

/** An organization's invoices and sales orders, as Zoho lists them. */
export interface Documents {
  invoices: Record<string, unknown>[]
  salesorders: Record<string, unknown>[]
}

/**
 * The sample organizations' open invoices and sales orders, dated from `now` (so that "45 days
 * past due" stays true). The second organization has 450 open invoices (three pages of 200):
 * its two contacts' and those of a wholesale book of small customers, none past due.
 */
export function sampleDocuments(now: number): Map<string, Documents> {
  const first: Documents = { invoices: [], salesorders: [] }
  let n = 0
  const nextId = (prefix: string) => `${prefix}${String(++n).padStart(10, '0')}`
  for (const sample of SAMPLE_CONTACTS) {
    const outstanding = Number(sample.contact.outstanding_receivable_amount ?? sample.contact.outstanding_receivable_amount_bcy)
    const invoices =
      sample.invoices ??
      (outstanding > 0
        ? [
            {
              dueInDays: 20,
              balance: outstanding,
              currency: String(sample.contact.currency_code),
              rate: Number(sample.contact.outstanding_receivable_amount_bcy) / outstanding,
            },
          ]
        : [])
    for (const invoice of invoices) first.invoices.push(listedInvoice(nextId('460000009'), sample.id, invoice, now))
    for (const order of sample.orders ?? []) first.salesorders.push(listedSalesOrder(nextId('460000008'), sample.id, order, now))
  }
  // A year of monthly invoices paid as each sample pays (30 days' terms), which the open listings leave out.
  for (const sample of SAMPLE_CONTACTS) {
    for (const [i, late] of (sample.paid ?? []).entries()) {
      const dueInDays = -30 * (12 - i) + 20 - late
      first.invoices.push({
        ...listedInvoice(nextId('460000009'), sample.id, { dueInDays, balance: 0, total: 1000 + 100 * i }, now),
        status: 'paid',
        last_payment_date: dateIn(dueInDays + late, now),
      })
    }
  }
  // Paid and void invoices and an invoiced order, which the open listings leave out.
  first.invoices.push({
    ...listedInvoice(nextId('460000009'), '460000000031001', { dueInDays: -60, balance: 0, total: 4000 }, now),
    status: 'paid',
    last_payment_date: dateIn(-62, now),
  })
  first.salesorders.push({ ...listedSalesOrder(nextId('460000008'), '460000000031001', { total: 9000 }, now), status: 'invoiced' })
  const second: Documents = { invoices: [], salesorders: [] }
  second.invoices.push(listedInvoice(nextId('470000009'), '470000000010001', { dueInDays: 15, balance: 2500 }, now))
  second.invoices.push(listedInvoice(nextId('470000009'), '470000000010002', { dueInDays: 5, balance: 51000 }, now))
  for (let i = 0; i < 448; i++) {
    // Ids beyond 2^53, as real ones are.
    const customer = `47000000000${String(20000 + (i % 150)).padStart(8, '0')}`
    second.invoices.push(listedInvoice(`4700000000${String(900000000 + i)}`, customer, { dueInDays: 1 + (i % 28), balance: 100 + i }, now))
  }
  return new Map([
    [SANDBOX_ORGANIZATION_ID, first],
    [SANDBOX_SECOND_ORGANIZATION_ID, second],
  ])
}
