import { z } from 'zod'
import { exactSum } from '../lib/decimal.js'
import { MAX_AMOUNT, zohoDate, zohoId, zohoRate } from './contact.js'

/**
 * What creditgate keeps of a customer's open receivables: its open invoices (due date and the
 * balance in base currency) and the total of its open sales orders, from the organization-wide
 * listings of Zoho Books (docs/zoho.md, "Listings").
 */
export interface OpenInvoice {
  /** A calendar date, YYYY-MM-DD, in the organization's time zone; null when Zoho has none. */
  readonly due_date: string | null
  /** What is still owed, in base currency (balance × exchange_rate). */
  readonly balance_bcy: number
}

export interface CustomerReceivables {
  readonly invoices: readonly OpenInvoice[]
  /** Open and partially invoiced sales orders, their whole totals, in base currency. */
  readonly open_orders_bcy: number
  /** The reference_number of its unpaid invoices and open sales orders, and their salesorder_number: what ends a reservation. */
  readonly references?: readonly string[] | undefined
}

export const NO_RECEIVABLES: CustomerReceivables = Object.freeze({ invoices: Object.freeze([]), open_orders_bcy: 0 })

const money = z.number().min(-MAX_AMOUNT).max(MAX_AMOUNT)

/** A document's reference as Zoho lists it ("" when none); longer ones can match no reservation. */
const reference = z
  .unknown()
  .transform((v) => (typeof v === 'string' && v.trim() !== '' && v.length <= 100 ? v.trim() : undefined))
  .optional()

export const ListedInvoiceSchema = z.looseObject({
  invoice_id: zohoId,
  reference_number: reference,
  customer_id: zohoId,
  status: z.string().optional(),
  due_date: zohoDate,
  balance: money,
  exchange_rate: zohoRate,
})

export const ListedSalesOrderSchema = z.looseObject({
  salesorder_id: zohoId,
  salesorder_number: reference,
  reference_number: reference,
  customer_id: zohoId,
  status: z.string().optional(),
  total: money,
  exchange_rate: zohoRate,
})

export type ListedInvoice = z.output<typeof ListedInvoiceSchema>
export type ListedSalesOrder = z.output<typeof ListedSalesOrderSchema>

const cents = (n: number) => Math.round(n * 100) / 100

/** The listings of an organization (or of one customer), grouped by customer. */
export function groupByCustomer(invoices: readonly ListedInvoice[], orders: readonly ListedSalesOrder[]): Map<string, CustomerReceivables> {
  const customers = new Map<string, { invoices: OpenInvoice[]; open_orders_bcy: number; references?: string[] }>()
  const of = (customer: string) => {
    let found = customers.get(customer)
    if (!found) {
      found = { invoices: [], open_orders_bcy: 0 }
      customers.set(customer, found)
    }
    return found
  }
  const refer = (customer: string, ...references: (string | undefined)[]) => {
    const found = of(customer)
    for (const r of references) if (r !== undefined) found.references = [...(found.references ?? []), r]
  }
  // Only what is still owed counts, whatever the status says (docs/zoho.md: status lags behind).
  for (const invoice of invoices) {
    if (invoice.balance <= 0) continue
    of(invoice.customer_id).invoices.push({ due_date: invoice.due_date, balance_bcy: cents(invoice.balance * invoice.exchange_rate) })
    refer(invoice.customer_id, invoice.reference_number)
  }
  for (const order of orders) {
    if (order.total <= 0) continue
    of(order.customer_id).open_orders_bcy = cents(of(order.customer_id).open_orders_bcy + order.total * order.exchange_rate)
    refer(order.customer_id, order.reference_number, order.salesorder_number)
  }
  return customers
}

/** Per time zone: its formatter (costly to create), and the date it gave for the last minute asked about. */
const days = new Map<string, { format: Intl.DateTimeFormat; minute: number; day: string }>()

/** Today's calendar date (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone: string, now: number): string {
  let known = days.get(timeZone)
  if (!known) {
    known = {
      format: new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }),
      minute: Number.NaN,
      day: '',
    }
    days.set(timeZone, known)
  }
  // A zone's date changes on a whole minute (offsets are whole minutes): one format per minute, not per decision.
  const minute = Math.floor(now / 60_000)
  if (minute !== known.minute) {
    known.day = known.format.format(now)
    known.minute = minute
  }
  return known.day
}

const DAY_MS = 86_400_000
/** Whole days from one calendar date to another (positive when `to` is later). */
export const daysBetween = (from: string, to: string) =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS)

/** The receivables facts rules see. Documented in rules/README.md. */
/** Receivables facts for this contact's outstanding amount and order, when the rules use them. */
export type ReceivablesFor = (outstanding: number, orderAmount: number) => ReceivablesFacts

export interface ReceivablesFacts {
  readonly overdue_bcy: number
  readonly oldest_overdue_days: number
  readonly overdue_invoices: number
  readonly overdue_ratio: number
  readonly open_orders_bcy: number
  readonly reserved_bcy: number
  readonly exposure_with_orders_bcy: number
}

/**
 * The facts of one customer on a calendar day: an invoice is overdue when it still has a balance
 * and its due date is before today (a due date of today is not past due). The ratio is overdue ÷
 * outstanding, 0 when nothing is outstanding and at most 1 (the contact and the listings are read
 * at different moments).
 */
export function receivablesFacts(
  customer: CustomerReceivables,
  outstanding: number,
  orderAmount: number,
  today: string,
  reserved = 0,
): ReceivablesFacts {
  let overdue = 0
  let count = 0
  let oldest = 0
  for (const invoice of customer.invoices) {
    if (invoice.due_date === null || invoice.balance_bcy <= 0) continue
    const days = daysBetween(invoice.due_date, today)
    if (days <= 0) continue
    overdue += invoice.balance_bcy
    count++
    oldest = Math.max(oldest, days)
  }
  const overdueBcy = cents(overdue)
  return {
    overdue_bcy: overdueBcy,
    oldest_overdue_days: oldest,
    overdue_invoices: count,
    overdue_ratio: outstanding > 0 ? Math.min(1, Math.round((overdueBcy / outstanding) * 10_000) / 10_000) : 0,
    open_orders_bcy: customer.open_orders_bcy,
    reserved_bcy: reserved,
    // Exact, never rounded to cents: the credit limit is compared with it.
    exposure_with_orders_bcy: exactSum(outstanding, customer.open_orders_bcy, reserved, orderAmount),
  }
}

/** Receivables facts as a dry run or a fixture gives them: the given values over "nothing overdue, no open orders". */
export function suppliedReceivables(given: Partial<ReceivablesFacts> = {}): ReceivablesFor {
  return (outstanding, orderAmount) => ({
    ...receivablesFacts(
      { ...NO_RECEIVABLES, open_orders_bcy: given.open_orders_bcy ?? 0 },
      outstanding,
      orderAmount,
      '1970-01-01',
      given.reserved_bcy ?? 0,
    ),
    ...given,
  })
}

/** The receivables facts a fixture case or a dry run may give. */
export const SuppliedReceivablesSchema = z
  .strictObject({
    overdue_bcy: z.number().min(0).max(MAX_AMOUNT).optional(),
    oldest_overdue_days: z.number().int().min(0).max(100_000).optional(),
    overdue_invoices: z.number().int().min(0).max(1_000_000).optional(),
    overdue_ratio: z.number().min(0).max(1).optional(),
    open_orders_bcy: z.number().min(0).max(MAX_AMOUNT).optional(),
    reserved_bcy: z.number().min(0).max(MAX_AMOUNT).optional(),
    exposure_with_orders_bcy: z
      .number()
      .min(0)
      .max(4 * MAX_AMOUNT)
      .optional(),
  })
  .describe('Receivables facts; those left out are "nothing overdue, no open orders" (exposure_with_orders_bcy computed)')

/** Ageing buckets of a customer's open invoices, by days past due: what credit teams chart. */
export const AgeingSchema = z
  .object({
    not_due: z.number().describe('Balance not yet due (or without a due date)'),
    days_1_30: z.number().describe('Balance 1 to 30 days past due'),
    days_31_60: z.number(),
    days_61_90: z.number(),
    over_90: z.number().describe('Balance more than 90 days past due'),
  })
  .describe('Open invoice balances in base currency by days past due, on today’s date in ORG_TIME_ZONE')
  .meta({ id: 'Ageing' })

export type Ageing = z.output<typeof AgeingSchema>

/** The balances of a customer's open invoices by days past due on a calendar day (as receivablesFacts counts them). */
export function ageingBuckets(customer: CustomerReceivables, today: string): Ageing {
  const sums = [0, 0, 0, 0, 0]
  for (const invoice of customer.invoices) {
    if (invoice.balance_bcy <= 0) continue
    const days = invoice.due_date === null ? 0 : daysBetween(invoice.due_date, today)
    const bucket = days <= 0 ? 0 : days <= 30 ? 1 : days <= 60 ? 2 : days <= 90 ? 3 : 4
    sums[bucket] = (sums[bucket] ?? 0) + invoice.balance_bcy
  }
  const [not_due, days_1_30, days_31_60, days_61_90, over_90] = sums.map(cents) as [number, number, number, number, number]
  return { not_due, days_1_30, days_31_60, days_61_90, over_90 }
}
