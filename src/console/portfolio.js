// @ts-check
// The portfolio: every customer with open receivables in the organization's snapshot
// (GET /receivables: no Zoho call), sorted by exposure, overdue amount or oldest overdue days,
// searched by name, each row linking to the customer view.
import { $, age, amount, announce, api, count, h, problemText, show, when, zoho } from './lib.js'

/**
 * @typedef {{ contact_id: string, contact_name: string | null, open_invoices: number, open_invoices_bcy: number,
 *   open_orders_bcy: number, exposure_bcy: number, overdue_bcy: number, overdue_invoices: number,
 *   oldest_overdue_days: number }} Row
 */

/** Columns: [sort key or null, heading, cell]. @type {[string | null, string, (r: Row) => string][]} */
const COLUMNS = [
  ['exposure', 'exposure', (r) => amount(r.exposure_bcy)],
  [null, 'open invoices', (r) => `${amount(r.open_invoices_bcy)} (${count(r.open_invoices)})`],
  [null, 'open orders', (r) => amount(r.open_orders_bcy)],
  ['overdue', 'overdue', (r) => amount(r.overdue_bcy)],
  ['oldest_overdue_days', 'oldest overdue (days)', (r) => count(r.oldest_overdue_days)],
]

/** Counts the portfolios asked for: an answer that comes after another was asked for is not shown. */
let asked = 0

/** @param {Row} r @param {string} org */
function rowOf(r, org) {
  const open = () => {
    // The customer view asks in the organization this row is from.
    $('customer-org').value = org
  }
  const name = r.contact_name ? zoho(r.contact_name) : h('span', { class: 'note' }, 'name not cached')
  return h(
    'tr',
    { 'data-contact-id': r.contact_id },
    h('th', { scope: 'row' }, h('a', { href: `#customer/${r.contact_id}`, onclick: open }, name), ' ', h('code', {}, r.contact_id)),
    COLUMNS.map(([key, head, cell]) => h('td', { class: 'num', 'data-label': head, 'data-key': key ?? undefined }, cell(r))),
  )
}

/** @param {string} sort */
function head(sort) {
  return h(
    'thead',
    {},
    h(
      'tr',
      {},
      h('th', { scope: 'col', 'aria-sort': sort === 'name' ? 'ascending' : undefined }, sortButton('name', 'customer')),
      COLUMNS.map(([key, label]) =>
        h('th', { scope: 'col', class: 'num', 'aria-sort': key === sort ? 'descending' : undefined }, key ? sortButton(key, label) : label),
      ),
    ),
  )
}

/** A column heading that sorts by it. @param {string} key @param {string} label */
const sortButton = (key, label) =>
  h(
    'button',
    {
      type: 'button',
      class: 'sort',
      'data-sort': key,
      onclick: () => {
        $('portfolio-sort').value = key
        void portfolioView()
      },
    },
    label,
  )

/** #portfolio: the first page of the snapshot for the form's organization, sort and search; more on demand. */
export async function portfolioView() {
  const mine = ++asked
  const org = $('portfolio-org').value
  const sort = $('portfolio-sort').value
  const q = $('portfolio-q').value.trim()
  const query = new URLSearchParams({ sort, limit: '100' })
  if (org) query.set('organization_id', org)
  if (q) query.set('q', q)
  show('portfolio-out', h('p', { class: 'note' }, 'Reading the portfolio…'))
  const r = await api(`/receivables?${query}`)
  if (mine !== asked) return
  if (r.missing)
    return show('portfolio-out', h('p', { class: 'note', 'data-missing': '' }, 'The portfolio is not available on this server.'))
  if (!r.ok) return show('portfolio-out', h('p', { class: 'error', role: 'alert' }, problemText(r)))
  const d = r.data
  if (d.as_of === null)
    return show(
      'portfolio-out',
      h('p', { class: 'note' }, 'No active rule reads receivables facts, so open invoices are not read from Zoho.'),
    )
  const body = h(
    'tbody',
    {},
    d.customers.map((/** @type {Row} */ row) => rowOf(row, d.organization_id)),
  )
  const more = h('button', { type: 'button', id: 'portfolio-more', hidden: d.next_offset === null }, 'Show more')
  let next = d.next_offset
  more.addEventListener('click', async () => {
    query.set('offset', String(next))
    const page = await api(`/receivables?${query}`)
    if (!page.ok) return more.replaceWith(h('p', { class: 'error' }, problemText(page)))
    body.append(...page.data.customers.map((/** @type {Row} */ row) => rowOf(row, d.organization_id)))
    next = page.data.next_offset
    more.hidden = next === null
  })
  show(
    'portfolio-out',
    h(
      'p',
      { id: 'portfolio-summary' },
      `${count(d.total)} customer${d.total === 1 ? '' : 's'} with open receivables${q ? ` matching “${q}”` : ''}, organization ${d.organization_id}; read from Zoho ${when(d.as_of)} (${age(d.age_seconds)}).`,
    ),
    h(
      'table',
      { id: 'portfolio-table', class: 'stack' },
      h('caption', { class: 'visually-hidden' }, 'Customers with open receivables'),
      head(sort),
      body,
    ),
    more,
  )
  announce(`${d.total} customers`)
}

$('portfolio-form').addEventListener('submit', (/** @type {Event} */ event) => {
  event.preventDefault()
  void portfolioView()
})
