// @ts-check
// The portfolio: every customer with open receivables in the snapshot of the organization picked,
// or of each (GET /receivables: no Zoho call), sorted by exposure, overdue amount or oldest overdue
// days, searched by name, each row linking to the customer view.
import { api, problemText } from './api.js'
import { $, age, amount, announce, count, h, show, when, zoho } from './lib.js'
import { label, linkTo, organizations, picked } from './organizations.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 * @typedef {Schemas['Portfolio']['customers'][number]} Row
 */
/**
 * @template [T=any]
 * @typedef {import('./api.js').Answer<T>} Answer
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

/** @param {Row} r @param {string} org @param {boolean} tagged */
function rowOf(r, org, tagged) {
  const open = () => {
    // The customer view asks in the organization this row is from.
    $('customer-org').value = org
  }
  const name = r.contact_name ? zoho(r.contact_name) : h('span', { class: 'note' }, 'name not cached')
  return h(
    'tr',
    { 'data-contact-id': r.contact_id },
    h('th', { scope: 'row' }, h('a', { href: linkTo(`#customer/${r.contact_id}`), onclick: open }, name), ' ', h('code', {}, r.contact_id)),
    COLUMNS.map(([key, head, cell]) => h('td', { class: 'num', 'data-label': head, 'data-key': key ?? undefined }, cell(r))),
    tagged ? h('td', { 'data-label': 'organization', 'data-key': 'organization' }, label(org)) : '',
  )
}

/** @param {string} sort @param {boolean} tagged */
function head(sort, tagged) {
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
      tagged ? h('th', { scope: 'col' }, 'organization') : '',
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

/**
 * One organization's first page for the form's sort and search: its summary sentence, its rows
 * (a body of their own) and its "Show more".
 * @param {string | null} org null: the service's default organization
 * @param {URLSearchParams} params
 * @param {boolean} tagged rows say their organization (several shown)
 */
async function pageOf(org, params, tagged) {
  const q = new URLSearchParams(params)
  if (org) q.set('organization_id', org)
  /** @type {Answer<Schemas['Portfolio']>} */
  const r = await api(`/receivables?${q}`)
  const name = org ? `organization ${label(org)}` : 'the organization'
  if (r.missing) return { missing: true, sentence: 'The portfolio is not available on this server.' }
  if (!r.ok) return { sentence: `${name}: ${problemText(r)}.`, error: true }
  const d = r.data
  if (d.as_of === null) return { sentence: `${name}: no active rule reads receivables facts, so open invoices are not read from Zoho.` }
  const search = params.get('q')
  const body = h('tbody', { 'data-organization-id': d.organization_id })
  const add = (/** @type {Row[]} */ rows) => body.append(...rows.map((row) => rowOf(row, d.organization_id, tagged)))
  add(d.customers)
  const more = h(
    'button',
    { type: 'button', class: 'more', 'data-organization-id': d.organization_id, hidden: d.next_offset === null },
    'Show more',
  )
  let next = d.next_offset
  more.addEventListener('click', async () => {
    q.set('offset', String(next))
    /** @type {Answer<Schemas['Portfolio']>} */
    const page = await api(`/receivables?${q}`)
    if (!page.ok) return more.replaceWith(h('p', { class: 'error' }, problemText(page)))
    add(page.data.customers)
    next = page.data.next_offset
    more.hidden = next === null
  })
  const sentence = `${count(d.total)} customer${d.total === 1 ? '' : 's'} with open receivables${search ? ` matching “${search}”` : ''}, organization ${label(d.organization_id)}; read from Zoho ${when(d.as_of)} (${age(d.age_seconds ?? 0)}).`
  return { sentence, body, more, total: d.total }
}

/**
 * #portfolio: the organization picked, or each organization one after the other (their amounts
 * are in their own base currencies: never sorted together), for the form's sort and search.
 */
export async function portfolioView() {
  const mine = ++asked
  const sort = $('portfolio-sort').value
  const q = $('portfolio-q').value.trim()
  const params = new URLSearchParams({ sort, limit: '100' })
  if (q) params.set('q', q)
  const org = picked()
  /** @type {(string | null)[]} */
  const orgs = org ? [org] : organizations().map((o) => o.organization_id)
  if (orgs.length === 0) orgs.push(null)
  const tagged = orgs.length > 1
  show('portfolio-out', h('p', { class: 'note' }, 'Reading the portfolio…'))
  const pages = await Promise.all(orgs.map((o) => pageOf(o, params, tagged)))
  if (mine !== asked) return
  if (pages.some((p) => p.missing))
    return show('portfolio-out', h('p', { class: 'note', 'data-missing': '' }, 'The portfolio is not available on this server.'))
  const shown = pages.filter((p) => p.body)
  const summary = h(
    'p',
    { id: 'portfolio-summary', class: pages.every((p) => p.error) ? 'error' : undefined },
    pages.map((p) => p.sentence).join(' '),
  )
  if (shown.length === 0) return show('portfolio-out', summary)
  show(
    'portfolio-out',
    summary,
    h(
      'table',
      { id: 'portfolio-table', class: 'stack' },
      h('caption', { class: 'visually-hidden' }, 'Customers with open receivables'),
      head(sort, tagged),
      shown.map((p) => p.body),
    ),
    ...shown.flatMap((p) => (p.more ? [p.more] : [])),
  )
  announce(`${shown.reduce((n, p) => n + (p.total ?? 0), 0)} customers`)
}

$('portfolio-form').addEventListener('submit', (/** @type {Event} */ event) => {
  event.preventDefault()
  void portfolioView()
})
