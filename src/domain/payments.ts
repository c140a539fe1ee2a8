import { z } from 'zod'
import { MAX_AMOUNT, type ZohoContact, zohoDate, zohoId, zohoRate } from './contact.js'

/**
 * Payment behaviour: how a customer paid its invoices over the last 12 months, from the
 * organization-wide listing of paid invoices (docs/zoho.md, "Listings"). Pure: the listing and
 * today's date in, the facts out. The definitions are those of rules/README.md, "Payment facts".
 */

/** Days of the 12 months and of the last 3 months (a payment dated today − 365 is out, today − 364 in). */
export const YEAR_DAYS = 365
export const QUARTER_DAYS = 91
/**
 * How far back the listing reads by invoice date: the year of payments and 90 days more, so an
 * invoice paid in the year counts unless it took more than 90 days from its date to the year's start.
 */
export const LISTING_DAYS = YEAR_DAYS + 90

const DAY_MS = 86_400_000
/** Whole days from one calendar date (YYYY-MM-DD) to another, positive when `to` is later. */
const days = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS)

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/
/** A calendar date that exists: YYYY-MM-DD, and not 2026-02-30. */
const realDay = (v: string) => DAY_PATTERN.test(v) && new Date(Date.parse(v) || 0).toISOString().slice(0, 10) === v

/** A paid invoice as List invoices (filter_by=Status.Paid) prints it: the fields read, the rest ignored. */
export const PaidInvoiceSchema = z.looseObject({
  invoice_id: zohoId,
  customer_id: zohoId,
  status: z.string().optional(),
  date: zohoDate,
  due_date: zohoDate,
  last_payment_date: zohoDate,
  total: z.number().min(-MAX_AMOUNT).max(MAX_AMOUNT),
  balance: z.number().min(-MAX_AMOUNT).max(MAX_AMOUNT).optional(),
  exchange_rate: zohoRate,
})

export type PaidInvoice = z.output<typeof PaidInvoiceSchema>

/** The payment facts rules see; null when the customer paid no invoice in the 12 months. */
export interface PaymentFacts {
  readonly paid_invoices_12m: number
  readonly avg_days_to_pay_12m: number | null
  readonly avg_days_late_12m: number | null
  readonly weighted_days_late_12m: number | null
  readonly days_late_trend: number | null
}

export const NO_PAYMENT_FACTS: PaymentFacts = Object.freeze({
  paid_invoices_12m: 0,
  avg_days_to_pay_12m: null,
  avg_days_late_12m: null,
  weighted_days_late_12m: null,
  days_late_trend: null,
})

/** One month of a customer's payments: invoices paid in it and their average days to pay. */
export interface PaymentMonth {
  /** YYYY-MM */
  readonly month: string
  readonly invoices: number
  readonly avg_days_to_pay: number | null
}

/** What is kept of a customer: its facts (as of the pass's day) and the 12 months for the console's chart. */
export interface CustomerPayments {
  readonly facts: PaymentFacts
  readonly months: readonly PaymentMonth[]
}

/** One payment as the facts count it. */
interface Paid {
  readonly ago: number
  readonly month: string
  readonly toPay: number
  readonly late: number
  readonly weight: number
}

const tenth = (n: number) => Math.round(n * 10) / 10
const mean = (values: readonly number[]) => (values.length === 0 ? null : tenth(values.reduce((a, b) => a + b, 0) / values.length))
/** Σ weight × late ÷ Σ weight; the plain mean when every weight is 0 (invoices of 0.00). */
function weighted(paid: readonly Paid[]): number | null {
  const total = paid.reduce((sum, p) => sum + p.weight, 0)
  if (total <= 0) return mean(paid.map((p) => p.late))
  return tenth(paid.reduce((sum, p) => sum + p.weight * p.late, 0) / total)
}

/**
 * An invoice counts once it is paid in full (status "paid", balance 0) on its last payment date,
 * however many partial payments came before. One without a payment date (closed by credit notes
 * or written off, no money received) is not a payment and is left out; one paid partly and closed
 * by a credit note counts on its last payment date. Weight: the invoice total in base currency.
 */
function asPaid(invoice: PaidInvoice, today: string): Paid | undefined {
  if (invoice.status !== undefined && invoice.status !== 'paid') return undefined
  if ((invoice.balance ?? 0) > 0 || invoice.last_payment_date === null || invoice.date === null) return undefined
  const ago = days(invoice.last_payment_date, today)
  if (ago < 0 || ago >= YEAR_DAYS) return undefined
  const toPay = Math.max(0, days(invoice.date, invoice.last_payment_date))
  const late = Math.max(0, days(invoice.due_date ?? invoice.date, invoice.last_payment_date))
  return { ago, month: invoice.last_payment_date.slice(0, 7), toPay, late, weight: Math.max(0, invoice.total * invoice.exchange_rate) }
}

/** The facts of one customer's payments (at least one). */
function paymentFacts(paid: readonly Paid[]): PaymentFacts {
  const year = weighted(paid)
  const recent = paid.filter((p) => p.ago < QUARTER_DAYS)
  const quarter = weighted(recent)
  return {
    paid_invoices_12m: paid.length,
    avg_days_to_pay_12m: mean(paid.map((p) => p.toPay)),
    avg_days_late_12m: mean(paid.map((p) => p.late)),
    weighted_days_late_12m: year,
    days_late_trend: quarter === null || year === null ? null : tenth(quarter - year),
  }
}

/** The 12 calendar months ending with today's, oldest first. */
export function lastMonths(today: string): string[] {
  const [y, m] = today.split('-').map(Number) as [number, number]
  return Array.from({ length: 12 }, (_, i) => {
    const at = new Date(Date.UTC(y, m - 12 + i, 1))
    return at.toISOString().slice(0, 7)
  })
}

/** The organization's paid invoices, grouped by customer, as facts on `today` (YYYY-MM-DD). */
export function paymentsByCustomer(invoices: readonly PaidInvoice[], today: string): Map<string, CustomerPayments> {
  const byCustomer = new Map<string, Paid[]>()
  const seen = new Set<string>()
  for (const invoice of invoices) {
    // A listing read while payments arrive may print an invoice on two pages: it counts once.
    if (seen.has(invoice.invoice_id)) continue
    seen.add(invoice.invoice_id)
    const paid = asPaid(invoice, today)
    if (!paid) continue
    const list = byCustomer.get(invoice.customer_id)
    if (list) list.push(paid)
    else byCustomer.set(invoice.customer_id, [paid])
  }
  const months = lastMonths(today)
  const out = new Map<string, CustomerPayments>()
  for (const [customer, paid] of byCustomer) {
    out.set(customer, {
      facts: paymentFacts(paid),
      months: months.map((month) => {
        const inMonth = paid.filter((p) => p.month === month)
        return { month, invoices: inMonth.length, avg_days_to_pay: mean(inMonth.map((p) => p.toPay)) }
      }),
    })
  }
  return out
}

/** The first invoice date the listing asks for: LISTING_DAYS before today. */
export const listingStart = (today: string) => new Date(Date.parse(today) - LISTING_DAYS * DAY_MS).toISOString().slice(0, 10)

/** Payment facts as a dry run or a fixture gives them: those left out are "no payment history". */
export const SuppliedPaymentsSchema = z
  .strictObject({
    paid_invoices_12m: z.number().int().min(0).max(1_000_000).optional(),
    avg_days_to_pay_12m: z.number().min(0).max(100_000).nullable().optional(),
    avg_days_late_12m: z.number().min(0).max(100_000).nullable().optional(),
    weighted_days_late_12m: z.number().min(0).max(100_000).nullable().optional(),
    days_late_trend: z.number().min(-100_000).max(100_000).nullable().optional(),
  })
  .describe('Payment facts; those left out are "no paid invoice in the 12 months" (0 and nulls)')

/** The day a fixture case or dry run compares review and limit dates with. */
export const SuppliedTodaySchema = z
  .string()
  .regex(DAY_PATTERN, 'must be a date, YYYY-MM-DD')
  .refine(realDay, 'must be a real date')
  .describe('The day review and limit dates are compared with, YYYY-MM-DD')

/** Fixture cases compare dates with this day unless they name another. */
export const FIXTURE_TODAY = '2026-01-01'

export const suppliedPayments = (given: z.output<typeof SuppliedPaymentsSchema> = {}): PaymentFacts => ({
  ...NO_PAYMENT_FACTS,
  ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
})

/** The custom fields (api names) the credit team keeps review dates and temporary limits in. */
export interface CreditFields {
  /** CREDIT_REVIEW_DATE_FIELD: when the customer's credit is next to be reviewed. */
  readonly reviewDate: string
  /** CREDIT_LIMIT_UNTIL_FIELD: the last day the credit limit holds. */
  readonly limitUntil: string
}

export const DEFAULT_CREDIT_FIELDS: CreditFields = Object.freeze({
  reviewDate: 'cf_credit_review_date',
  limitUntil: 'cf_credit_limit_until',
})

/**
 * A date custom field as a calendar date: the unformatted value of custom_field_hash, else the
 * value in custom_fields, when either is YYYY-MM-DD (other formats, and unset fields: null).
 */
export function customDate(contact: ZohoContact, name: string): string | null {
  const candidates = [contact.custom_field_hash?.[`${name}_unformatted`], contact.custom_fields?.find((f) => f.api_name === name)?.value]
  const found = candidates.find((v): v is string => typeof v === 'string' && realDay(v))
  return found ?? null
}

/** The review-date and limit-validity facts of a contact on a calendar day. */
export function creditDateFacts(contact: ZohoContact, today: string, fields: CreditFields = DEFAULT_CREDIT_FIELDS) {
  const review = customDate(contact, fields.reviewDate)
  const until = customDate(contact, fields.limitUntil)
  return {
    credit_review_overdue_days: review === null ? null : Math.max(0, days(review, today)),
    credit_limit_expired: until !== null && until < today,
  }
}
