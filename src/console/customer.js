// @ts-check
// #customer/<id>: a contact's decision now (recorded like any other), its trace in words, its
// exposure against the credit limit, its held orders and reservations, ageing and payments, the
// last decisions recorded and where each fact came from — in the organization the form names
// (the one picked, or with "all" the form's own choice).
import { api, codesOf, notAvailable, problemText, recordedAt } from './api.js'
import { customerCases } from './cases.js'
import { factsTable, traceWords } from './facts.js'
import { $, amount, announce, badge, count, dataTable, h, show, when, zoho } from './lib.js'
import { linkTo, query } from './organizations.js'
import { ageing, paying } from './paying.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 * @typedef {Schemas['RiskDecision']} RiskDecision
 */
/**
 * @template [T=any]
 * @typedef {import('./api.js').Answer<T>} Answer
 */

/** Counts the customers asked for: an answer that comes after another customer was asked for is not shown. */
let asked = 0

/** Nothing of the customer shown before stays on screen under an address that names none. */
export function forgetCustomer() {
  asked++
  $('customer-id').value = ''
  show('customer-out', h('p', { class: 'error', role: 'alert' }, 'This address does not name a contact: a contact id is 1 to 19 digits.'))
}

$('customer-form').addEventListener('submit', (/** @type {Event} */ event) => {
  event.preventDefault()
  const id = $('customer-id').value.trim()
  const hash = linkTo(`#customer/${id}`)
  if (location.hash === hash) void customer(id)
  else location.hash = hash
})

/** @param {string} id */
export async function customer(id) {
  const mine = ++asked
  if (!/^[1-9]\d{0,18}$/.test(id))
    return show('customer-out', h('p', { class: 'error', role: 'alert' }, 'A contact id is 1 to 19 digits, without a leading zero.'))
  const org = $('customer-org').value || null
  const amountText = $('customer-amount').value.trim()
  const risk = query({ explain: 'true', ...(amountText ? { order_amount: amountText } : {}) }, org)
  const same = query({}, org)
  show('customer-out', h('p', { class: 'note' }, `Asking for ${id}…`))
  // The decision first: the recent decisions then include it.
  /** @type {Answer<RiskDecision>} */
  const r = await api(`/contacts/${id}/risk?${risk}`)
  const [receivables, payments, recent, held] = await Promise.all([
    api(`/contacts/${id}/receivables?${same}`),
    api(`/contacts/${id}/payments?${same}`),
    api(`/decisions?${query({ contact_id: id, limit: '10' }, org)}`),
    api(`/contacts/${id}/reservations?${same}`),
  ])
  if (mine !== asked) return
  if (!r.ok) return show('customer-out', h('p', { class: 'error', role: 'alert' }, problemText(r)))
  const d = r.data
  const f = d.facts
  /** @param {string} id @param {string} title */
  const card = (id, title) => h('article', { class: 'card', 'aria-labelledby': id }, h('h3', { id }, title))
  const casesCard = card('cases-title', 'Held orders (cases)')
  const exposureCard = card('exposure-title', 'Exposure')
  const ageingCard = card('ageing-title', 'Ageing')
  const paymentsCard = card('payments-title', 'How it pays')
  show(
    'customer-out',
    h(
      'article',
      { class: 'card', 'aria-labelledby': 'decision-title' },
      h('h3', { id: 'decision-title' }, badge(d.decision), ' ', f ? [zoho(f.contact_name), ` (${d.contact_id})`] : d.contact_id),
      h('p', { class: 'note' }, `Decision ${d.decision_id}, ${when(d.evaluated_at)}, rules ${d.rules_version.slice(0, 19)}`),
      messages(d),
    ),
    h('div', { class: 'grid' }, exposureCard, ageingCard),
    paymentsCard,
    h(
      'article',
      { class: 'card', 'aria-labelledby': 'trace-title' },
      h('h3', { id: 'trace-title' }, 'Why: every rule'),
      traceWords(d.trace ?? []),
    ),
    h(
      'article',
      { class: 'card', 'aria-labelledby': 'facts-title' },
      h('h3', { id: 'facts-title' }, 'Facts and where they came from'),
      factsTable(d),
    ),
    casesCard,
    h(
      'article',
      { class: 'card', 'aria-labelledby': 'reservations-title' },
      h('h3', { id: 'reservations-title' }, 'Reservations'),
      reservations(held),
    ),
    h(
      'article',
      { class: 'card', 'aria-labelledby': 'recent-title' },
      h('h3', { id: 'recent-title' }, 'Recent decisions'),
      recentTable(recent),
    ),
  )
  if (f) exposure(exposureCard, f)
  else exposureCard.append(h('p', { class: 'note' }, 'No contact data: nothing to show.'))
  ageing(ageingCard, receivables)
  paying(paymentsCard, payments)
  const casesTitle = /** @type {Node} */ (casesCard.firstChild)
  const listCases = async () =>
    casesCard.replaceChildren(casesTitle, ...(await customerCases(id, d.organization_id, () => void listCases())))
  await listCases()
  announce(`Decision for ${d.contact_id}: ${d.decision}`)
}

/** @param {RiskDecision} d */
function messages(d) {
  const items = [
    ...d.reasons.map((r) => h('li', {}, h('strong', {}, `${r.severity}: `), zoho(r.message), ' ', h('code', {}, r.code))),
    ...d.alerts.map((a) => h('li', {}, h('strong', {}, 'alert: '), zoho(a.message), ' ', h('code', {}, a.code))),
  ]
  return items.length ? h('ul', { class: 'messages' }, items) : h('p', {}, 'No rule fired: nothing stands against this order.')
}

/**
 * Allowed orders with a reference that Zoho does not list yet: each live, matched or expired.
 * @param {Answer<Schemas['ReservationList']>} r
 */
function reservations(r) {
  if (r.missing) return notAvailable('The reservations view (GET /contacts/{id}/reservations)')
  if (!r.ok) return h('p', { class: 'error' }, problemText(r))
  const { reservations, reserved_bcy: reserved, mode } = r.data
  if (reservations.length === 0) return h('p', { class: 'note' }, 'No allowed order of this customer is waiting for Zoho.')
  return [
    h(
      'p',
      { id: 'reservations-total' },
      `${amount(reserved)} reserved by ${count(reservations.filter((x) => x.state === 'live').length)} live reservations` +
        (mode === 'shared'
          ? '.'
          : ` (${mode === 'local' ? 'kept in this process: no Redis' : 'Redis unreachable: this instance’s view'}).`),
    ),
    dataTable(
      'Reservations: reference, amount, state, by, expires',
      ['reference', 'amount', 'state', 'by', 'expires'],
      reservations.map((x) => [x.reference, amount(x.amount), x.state, x.caller, when(x.expires_at)]),
    ),
  ]
}

/**
 * Outstanding + open orders + reserved + this order against the credit limit, as one bar.
 * @param {HTMLElement} card
 * @param {Schemas['DecisionFacts']} f
 */
function exposure(card, f) {
  const orders = f.open_orders_bcy ?? 0
  const reserved = f.reserved_bcy ?? 0
  const total = f.outstanding_bcy + orders + reserved + f.order_amount
  const limit = f.credit_limit
  const scale = Math.max(total, limit ?? 0) * 1.05 || 1
  /** @type {[string, string, number][]} */
  const parts = [
    ['outstanding', 'Outstanding', f.outstanding_bcy],
    ['orders', 'Open orders', orders],
    ...(reserved > 0 ? /** @type {[string, string, number][]} */ ([['reserved', 'Reserved', reserved]]) : []),
    ['order', 'This order', f.order_amount],
  ]
  const words =
    `Exposure ${amount(total)}: outstanding ${amount(f.outstanding_bcy)} + open orders ${f.open_orders_bcy === null ? 'not read' : amount(orders)}${reserved > 0 ? ` + reserved ${amount(reserved)}` : ''} + this order ${amount(f.order_amount)}; ` +
    (limit === null
      ? 'no credit limit.'
      : `credit limit ${amount(limit)}${total > limit ? `, over it by ${amount(total - limit)}` : `, ${amount(limit - total)} left`}.`)
  const bar = h('div', { class: 'bar', id: 'exposure-bar', role: 'img', 'aria-label': words })
  for (const [cls, , n] of parts) {
    const span = h('span', { class: cls })
    span.style.width = `${(n / scale) * 100}%`
    bar.append(span)
  }
  if (limit !== null) {
    const marker = h('span', { class: 'limit' })
    marker.style.left = `${(limit / scale) * 100}%`
    bar.append(marker)
  }
  const legend = h(
    'ul',
    { class: 'legend' },
    parts.map(([cls, label, n]) => h('li', {}, h('span', { class: `swatch ${cls}` }), `${label} ${amount(n)}`)),
  )
  card.append(bar, h('p', {}, words), legend)
  if (f.open_orders_bcy === null) card.append(h('p', { class: 'note' }, 'Open sales orders are read only while a rule uses them.'))
}

/** @param {Answer<Schemas['DecisionPage']>} r */
function recentTable(r) {
  if (r.missing) return notAvailable('The decision history (GET /decisions)')
  if (!r.ok) return h('p', { class: 'error' }, problemText(r))
  const list = r.data.decisions
  if (list.length === 0) return h('p', { class: 'note' }, 'None recorded.')
  return h(
    'table',
    { id: 'recent-table', class: 'stack' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['when', 'decision', 'codes', 'decision id'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      list.map((rec) =>
        h(
          'tr',
          {},
          h('td', {}, when(new Date(recordedAt(rec)).toISOString())),
          h('td', {}, badge(rec.decision)),
          h('td', {}, codesOf(rec).join(', ') || '—'),
          h('td', {}, h('code', {}, rec.decision_id)),
        ),
      ),
    ),
  )
}
