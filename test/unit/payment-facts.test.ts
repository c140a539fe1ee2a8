import fc from 'fast-check'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { creditDateFacts, listingStart, PaidInvoiceSchema, paymentsByCustomer, suppliedPayments } from '../../src/domain/payments.js'
import { zohoContact } from '../../src/sandbox/contacts.js'
import { lacksFacts } from '../../src/services/rule-sets/compare.js'
import { ruleSetOf } from '../helpers/rules.js'

/**
 * Payment-behaviour facts (issue 28) computed from paid invoices, by the documented definitions;
 * review dates and limit validity from custom fields; which facts a backtest compares. Fetched by
 * the background pass: system/payments.test.ts.
 */

const DAY = 86_400_000
const TODAY = '2026-11-24'
const dayOf = (offset: number) => new Date(Date.parse(TODAY) + offset * DAY).toISOString().slice(0, 10)

t.test('the facts of generated paid-invoice histories match an independent computation', async (t) => {
  const invoice = fc.record({
    customer: fc.constantFrom('1', '2', '3'),
    // Invoice date, days before today; days from date to due; days from due to last payment (negative: early).
    age: fc.integer({ min: 0, max: 500 }),
    terms: fc.integer({ min: 0, max: 60 }),
    pay: fc.integer({ min: -40, max: 120 }),
    total: fc.integer({ min: 0, max: 1_000_000 }).map((c) => c / 100),
    rate: fc.constantFrom(1, 83.5, ''),
    // A payment date unset: closed by credit notes alone, or written off.
    unpaid: fc.boolean(),
    partlyOpen: fc.boolean(),
  })
  fc.assert(
    fc.property(fc.array(invoice, { maxLength: 60 }), (list) => {
      const listed = list.map((i, n) =>
        PaidInvoiceSchema.parse({
          invoice_id: String(n + 1),
          customer_id: i.customer,
          status: i.partlyOpen ? 'partially_paid' : 'paid',
          date: dayOf(-i.age),
          due_date: dayOf(-i.age + i.terms),
          last_payment_date: i.unpaid ? ' ' : dayOf(Math.min(0, -i.age + i.terms + i.pay)),
          total: i.total,
          balance: i.partlyOpen ? 1 : 0,
          exchange_rate: i.rate,
        }),
      )
      const got = paymentsByCustomer(listed, TODAY)
      for (const customer of ['1', '2', '3']) {
        // Independently: paid in full, with a payment date within the last 365 days.
        const rows = list
          .filter((i) => i.customer === customer && !i.unpaid && !i.partlyOpen)
          .map((i) => {
            const paidAt = Math.min(0, -i.age + i.terms + i.pay)
            return {
              ago: -paidAt,
              toPay: Math.max(0, paidAt + i.age),
              late: Math.max(0, paidAt - (-i.age + i.terms)),
              w: i.total * (typeof i.rate === 'number' ? i.rate : 1),
            }
          })
          .filter((r) => r.ago < 365)
        const facts = got.get(customer)?.facts
        if (rows.length === 0) {
          t.equal(facts, undefined)
          continue
        }
        const avg = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10
        const weighted = (rs: typeof rows) => {
          const w = rs.reduce((a, r) => a + r.w, 0)
          return w > 0 ? Math.round((rs.reduce((a, r) => a + r.w * r.late, 0) / w) * 10) / 10 : avg(rs.map((r) => r.late))
        }
        const recent = rows.filter((r) => r.ago < 91)
        const year = weighted(rows)
        const expected = {
          paid_invoices_12m: rows.length,
          avg_days_to_pay_12m: avg(rows.map((r) => r.toPay)),
          avg_days_late_12m: avg(rows.map((r) => r.late)),
          weighted_days_late_12m: year,
          days_late_trend: recent.length === 0 ? null : Math.round((weighted(recent) - year) * 10) / 10,
        }
        if (JSON.stringify(facts) !== JSON.stringify(expected)) {
          t.same(facts, expected, `customer ${customer}`)
          return false
        }
      }
      return true
    }),
    { numRuns: 300 },
  )
})

t.test('partial payments, credit notes, write-offs and the window’s edges, by the documented definitions', async (t) => {
  const listed = [
    // Paid in three instalments: counts once, on its last payment date (10 days late).
    {
      invoice_id: '1',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-60),
      due_date: dayOf(-30),
      last_payment_date: dayOf(-20),
      total: 300,
      balance: 0,
    },
    // Closed by a credit note alone (no payment date): not a payment.
    {
      invoice_id: '2',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-60),
      due_date: dayOf(-30),
      last_payment_date: ' ',
      total: 5000,
      balance: 0,
    },
    // Part paid, the rest credited: counts on its last payment date, with its whole total.
    {
      invoice_id: '3',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-100),
      due_date: dayOf(-70),
      last_payment_date: dayOf(-40),
      total: 100,
      balance: 0,
    },
    // Paid exactly 365 days ago: outside the 12 months; 364 days ago: inside.
    {
      invoice_id: '4',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-400),
      due_date: dayOf(-370),
      last_payment_date: dayOf(-365),
      total: 1,
      balance: 0,
    },
    {
      invoice_id: '5',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-400),
      due_date: dayOf(-370),
      last_payment_date: dayOf(-364),
      total: 0,
      balance: 0,
    },
    // Listed twice (a page boundary moved): counts once. Void: never.
    {
      invoice_id: '1',
      customer_id: '7',
      status: 'paid',
      date: dayOf(-60),
      due_date: dayOf(-30),
      last_payment_date: dayOf(-20),
      total: 300,
      balance: 0,
    },
    {
      invoice_id: '6',
      customer_id: '7',
      status: 'void',
      date: dayOf(-60),
      due_date: dayOf(-30),
      last_payment_date: dayOf(-20),
      total: 999,
      balance: 0,
    },
    // Without an invoice date: nothing to count from. Without a due date (nor a balance field): due on its date.
    { invoice_id: '8', customer_id: '8', status: 'paid', date: ' ', due_date: dayOf(-30), last_payment_date: dayOf(-20), total: 5 },
    { invoice_id: '9', customer_id: '9', date: dayOf(-30), due_date: '', last_payment_date: dayOf(-20), total: 5, exchange_rate: '' },
    // Paid "tomorrow" (a clock ahead of the organization's zone): not yet.
    {
      invoice_id: '10',
      customer_id: '9',
      status: 'paid',
      date: dayOf(-30),
      due_date: dayOf(-1),
      last_payment_date: dayOf(1),
      total: 5,
      balance: 0,
    },
  ].map((i) => PaidInvoiceSchema.parse(i))
  const customer = paymentsByCustomer(listed, TODAY).get('7')
  t.same(customer?.facts, {
    paid_invoices_12m: 3,
    avg_days_to_pay_12m: 45.3, // (40 + 60 + 36) / 3
    avg_days_late_12m: 15.3, // (10 + 30 + 6) / 3
    weighted_days_late_12m: 15, // (300 × 10 + 100 × 30 + 0 × 6) / 400
    days_late_trend: 0, // the last 91 days: invoices 1 and 3, the same 15
  })
  const byCustomer = paymentsByCustomer(listed, TODAY)
  t.equal(byCustomer.has('8'), false)
  t.match(byCustomer.get('9')?.facts, { paid_invoices_12m: 1, avg_days_to_pay_12m: 10, avg_days_late_12m: 10 })
  t.equal(customer?.months.length, 12)
  t.same(customer?.months.at(-1), { month: '2026-11', invoices: 1, avg_days_to_pay: 40 })
  t.equal(listingStart(TODAY), dayOf(-455), 'the listing reads invoices dated up to 455 days back')
  t.same(suppliedPayments({ weighted_days_late_12m: 20 }), {
    paid_invoices_12m: 0,
    avg_days_to_pay_12m: null,
    avg_days_late_12m: null,
    weighted_days_late_12m: 20,
    days_late_trend: null,
  })
})

t.test('review dates and limit validity from custom fields', async (t) => {
  const contact = (fields: Record<string, unknown>) => zohoContact('1', 'X', fields) as never
  t.same(creditDateFacts(contact({}), TODAY), { credit_review_overdue_days: null, credit_limit_expired: false })
  const hashed = contact({
    custom_field_hash: { cf_credit_review_date_unformatted: '2026-11-20', cf_credit_limit_until_unformatted: '2026-11-23' },
  })
  t.same(creditDateFacts(hashed, TODAY), { credit_review_overdue_days: 4, credit_limit_expired: true })
  const listed = contact({
    custom_fields: [
      { api_name: 'cf_next_review', value: '2026-12-01' },
      { api_name: 'cf_until', value: TODAY },
    ],
  })
  t.same(creditDateFacts(listed, TODAY, { reviewDate: 'cf_next_review', limitUntil: 'cf_until' }), {
    credit_review_overdue_days: 0,
    credit_limit_expired: false,
  })
  for (const bad of ['2026-02-30', '2026-13-45', '15 Jan 2026']) {
    const facts = creditDateFacts(contact({ custom_fields: [{ api_name: 'cf_credit_review_date', value: bad }] }), TODAY)
    t.equal(facts.credit_review_overdue_days, null, bad)
  }
})

t.test('configuration: refresh and stale bounds, custom field names', async (t) => {
  const base = { ZOHO_MODE: 'sandbox' }
  t.same(loadConfig(base).payments, {
    refreshSeconds: 86_400,
    staleSeconds: 259_200,
    fields: { reviewDate: 'cf_credit_review_date', limitUntil: 'cf_credit_limit_until' },
  })
  t.throws(
    () => loadConfig({ ...base, PAYMENT_FACTS_REFRESH_SECONDS: '7200', PAYMENT_FACTS_STALE_SECONDS: '3600' }),
    /PAYMENT_FACTS_STALE_SECONDS must not be less/,
  )
  t.throws(() => loadConfig({ ...base, PAYMENT_FACTS_REFRESH_SECONDS: '60' }), /PAYMENT_FACTS_REFRESH_SECONDS/)
  t.throws(() => loadConfig({ ...base, CREDIT_REVIEW_DATE_FIELD: 'review date' }), /CREDIT_REVIEW_DATE_FIELD.*api_name/)
})

t.test('lacksFacts: payment facts a deciding set did not read are not compared; read ones are, nulls included', async (t) => {
  const rules = ruleSetOf([
    {
      name: 'late',
      conditions: { all: [{ fact: 'avg_days_late_12m', operator: 'greaterThan', value: 1 }] },
      type: 'review',
      code: 'LATE',
      message: 'late',
    },
  ])
  t.equal(lacksFacts(rules, { avg_days_late_12m: null, paid_invoices_12m: null }), true, 'not read')
  t.equal(lacksFacts(rules, { avg_days_late_12m: null, paid_invoices_12m: 0 }), false, 'read: nothing paid')
  const utilization = ruleSetOf([
    {
      name: 'u',
      conditions: { all: [{ fact: 'credit_limit_utilization', operator: 'greaterThan', value: 0.8 }] },
      type: 'alert',
      code: 'UTIL_HIGH',
      message: 'u',
    },
  ])
  t.equal(lacksFacts(utilization, { credit_limit_utilization: null, exposure_with_orders_bcy: null }), true)
  t.equal(lacksFacts(utilization, { credit_limit_utilization: null, exposure_with_orders_bcy: 100 }), false, 'read: no credit limit')
})
