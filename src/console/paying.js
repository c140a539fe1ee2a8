// @ts-check
// The customer view's two charts: its open invoices by days past due (ageing), and how it pays —
// days to pay month by month over 12 months, the payment facts, the review date and the limit's
// validity.
import { notAvailable, problemText } from './api.js'
import { barChart, COLOURS } from './charts.js'
import { age, amount, count, dataTable, h, when } from './lib.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 */
/**
 * @template [T=any]
 * @typedef {import('./api.js').Answer<T>} Answer
 */

/** @type {[keyof Schemas['Ageing'], string, string][]} */
const BUCKETS = [
  ['not_due', 'Not due', 'not due'],
  ['days_1_30', '1–30 days', '1–30'],
  ['days_31_60', '31–60 days', '31–60'],
  ['days_61_90', '61–90 days', '61–90'],
  ['over_90', 'Over 90 days', '90+'],
]

/** @param {HTMLElement} card @param {Answer<Schemas['CustomerReceivables']>} r */
export function ageing(card, r) {
  if (r.missing) return card.append(notAvailable('The receivables view (GET /contacts/{id}/receivables)'))
  if (!r.ok) return card.append(h('p', { class: 'error' }, problemText(r)))
  const rec = r.data.receivables
  if (!rec)
    return card.append(h('p', { class: 'note' }, 'No active rule reads receivables facts, so open invoices are not read from Zoho.'))
  const values = BUCKETS.map(([k]) => rec.ageing[k])
  const words = BUCKETS.map(([, label], i) => `${label} ${amount(values[i])}`).join(', ')
  const el = h('div', { class: 'chart', id: 'ageing-chart', role: 'img', 'aria-label': `Open invoices by days past due: ${words}` })
  card.append(
    h(
      'p',
      { class: 'note' },
      `${count(rec.open_invoices)} open invoices, open sales orders ${amount(rec.open_orders_bcy)}; read from Zoho ${when(rec.as_of)} (${age(rec.age_seconds)}).`,
    ),
    el,
    h(
      'details',
      {},
      h('summary', {}, 'The numbers'),
      dataTable(
        'Open invoice balances by days past due',
        ['days past due', 'balance'],
        BUCKETS.map(([, label], i) => [label, amount(values[i])]),
      ),
    ),
  )
  barChart(
    el,
    BUCKETS.map(([, , short]) => short),
    values,
    { label: 'balance', colour: COLOURS.block, xLabel: 'days past due' },
  )
}

/** @param {HTMLElement} card @param {Answer<Schemas['CustomerPayments']>} r */
export function paying(card, r) {
  if (r.missing) return card.append(notAvailable('The payments view (GET /contacts/{id}/payments)'))
  if (!r.ok) return card.append(h('p', { class: 'error' }, problemText(r)))
  const d = r.data
  const review =
    d.credit_review_date === null
      ? 'No credit review date set.'
      : `Credit review ${d.credit_review_date}${(d.credit_review_overdue_days ?? 0) > 0 ? `: overdue by ${count(d.credit_review_overdue_days ?? 0)} days` : ''}.`
  const limit =
    d.credit_limit_until === null
      ? 'The credit limit has no end date.'
      : `The credit limit ${d.credit_limit_expired ? 'expired after' : 'holds through'} ${d.credit_limit_until}.`
  card.append(h('p', { id: 'credit-dates' }, `${review} ${limit}`))
  const p = d.payments
  if (!p)
    return card.append(h('p', { class: 'note' }, 'No active or shadow rule reads payment facts, so paid invoices are not read from Zoho.'))
  const fact = (/** @type {number | null} */ n, unit = ' days') => (n === null ? 'none' : `${n}${unit}`)
  card.append(
    h(
      'p',
      { class: 'note' },
      `${count(p.paid_invoices_12m)} invoices paid in 12 months: ${fact(p.avg_days_to_pay_12m)} to pay on average, ${fact(p.weighted_days_late_12m)} late weighted by amount, trend ${fact(p.days_late_trend)}; read from Zoho ${when(p.as_of)} (${age(p.age_seconds)}).`,
    ),
  )
  const el = h('div', {
    class: 'chart',
    id: 'payments-chart',
    role: 'img',
    'aria-label': `Average days to pay by month: ${p.months.map((m) => `${m.month} ${fact(m.avg_days_to_pay, '')}`).join(', ')}`,
  })
  card.append(
    el,
    h(
      'details',
      {},
      h('summary', {}, 'The numbers'),
      dataTable(
        'Invoices paid and average days to pay, by month',
        ['month', 'invoices paid', 'average days to pay'],
        p.months.map((m) => [m.month, count(m.invoices), fact(m.avg_days_to_pay, '')]),
      ),
    ),
  )
  barChart(
    el,
    p.months.map((m) => m.month.slice(2)),
    p.months.map((m) => m.avg_days_to_pay),
    { label: 'days to pay', xLabel: 'month paid' },
  )
}
