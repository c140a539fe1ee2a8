// @ts-check
// The credit team's worklist: held orders (GET /cases) of the organization picked or of all, oldest first, each with its history (who did
// what), released or rejected from the page (POST /cases/{id}/release | reject) by those whose role
// may; the customer view shows a customer's cases the same way.
import { api, problemText, roles } from './api.js'
import { $, ago, amount, announce, badge, h, show, when, zoho } from './lib.js'
import { label, linkTo, organizations, picked, query } from './organizations.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 * @typedef {Schemas['Case']} Case
 * @typedef {Schemas['CaseStep']} Step
 */
/**
 * @template [T=any]
 * @typedef {import('./api.js').Answer<T>} Answer
 */

/** Customers' names by decision id: the decision that held the order recorded the contact's name. */
const names = new Map()

/** @param {string} decisionId @returns {Promise<string | undefined>} */
async function nameOf(decisionId) {
  if (!names.has(decisionId)) {
    names.set(
      decisionId,
      api(`/decisions/${encodeURIComponent(decisionId)}`).then((/** @type {Answer<Schemas['DecisionRecord']>} */ r) =>
        r.ok ? r.data.facts?.contact_name : undefined,
      ),
    )
  }
  return names.get(decisionId)
}

/** The names of the cases' customers, a few requests at a time. @param {Case[]} cases */
async function namesFor(cases) {
  const ids = [...new Set(cases.map((c) => c.decision_id))]
  const queue = [...ids]
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await nameOf(id)
  }
  await Promise.all(Array.from({ length: Math.min(6, ids.length) }, worker))
}

/**
 * Who did a step, whatever form the server records it in: a key's or person's name, or
 * `{sub, name, roles}`.
 * @param {unknown} by
 * @returns {string}
 */
export function who(by) {
  if (typeof by === 'string') return by
  if (by && typeof by === 'object') {
    const o = /** @type {{ name?: unknown, email?: unknown, sub?: unknown, roles?: unknown }} */ (by)
    const name = String(o.name ?? o.email ?? o.sub ?? 'someone')
    return Array.isArray(o.roles) && o.roles.length ? `${name} (${o.roles.join(', ')})` : name
  }
  return 'someone'
}

const mayDecide = () => roles().some((role) => role === 'approver' || role === 'admin')

/** The case's history: when, who, what, why. @param {Step[]} history */
const historyList = (history) =>
  h(
    'ol',
    { class: 'history' },
    history.map((s) =>
      h(
        'li',
        { 'data-event': s.event },
        h('time', { datetime: s.at }, when(s.at)),
        ' ',
        h('strong', { class: 'who' }, zoho(who(s.actor ?? s.by))),
        ` ${s.event}: `,
        zoho(s.reason),
        s.note ? [' — ', zoho(s.note)] : '',
      ),
    ),
  )

/**
 * Release and reject, with a reason (required), a note, and for a release the amount and validity.
 * @param {Case} c
 * @param {() => void} done
 */
function actions(c, done) {
  const id = (/** @type {string} */ name) => `${name}-${c.case_id}`
  /** @param {string} name @param {string} label @param {Record<string, unknown>} attrs */
  const field = (name, label, attrs = {}) => [h('label', { for: id(name) }, label), h('input', { id: id(name), name, ...attrs })]
  const status = h('p', { class: 'case-status', role: 'status' })
  const form = h(
    'form',
    { class: 'case-actions', 'aria-label': `Release or reject ${c.order.reference}` },
    field('reason', 'Reason', { required: true, maxlength: 200 }),
    field('note', 'Note (optional)', { maxlength: 2000 }),
    field('amount', 'Amount released', { inputmode: 'decimal', value: String(c.order.amount) }),
    field('valid_until', 'Valid until (optional)', { type: 'datetime-local' }),
  )
  const value = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.querySelector(`[name=${name}]`)).value.trim()
  const send = async (/** @type {'release' | 'reject'} */ what) => {
    if (!value('reason')) {
      status.textContent = 'A reason is required.'
      return
    }
    /** @type {Record<string, unknown>} */
    const body = { reason: value('reason') }
    if (value('note')) body.note = value('note')
    if (what === 'release') {
      if (value('amount')) body.amount = Number(value('amount'))
      if (value('valid_until')) body.valid_until = new Date(value('valid_until')).toISOString()
    }
    status.textContent = 'Sending…'
    const r = await api(`/cases/${encodeURIComponent(c.case_id)}/${what}`, { method: 'POST', body })
    status.textContent = r.ok ? `${what === 'release' ? 'Released' : 'Rejected'}: ${c.order.reference}.` : problemText(r)
    announce(status.textContent)
    if (r.ok) done()
  }
  const forced = c.unreleasable.length > 0
  form.append(
    h('button', { type: 'button', class: 'release', disabled: forced, onclick: () => void send('release') }, 'Release'),
    h('button', { type: 'button', class: 'reject', onclick: () => void send('reject') }, 'Reject'),
  )
  if (forced) form.append(h('p', { class: 'note' }, `A forced hold (${c.unreleasable.join(', ')}): it can be rejected, not released.`))
  return [form, status]
}

/**
 * One case: customer, order, reasons, age, its history, and the actions where the role allows.
 * @param {Case} c
 * @param {string | undefined} name
 * @param {() => void} done
 */
function caseBlock(c, name, done) {
  // The customer view asks in the organization the case is from.
  const open = () => {
    $('customer-org').value = c.organization_id
  }
  const link = h(
    'a',
    { href: linkTo(`#customer/${c.contact_id}`), class: 'customer', onclick: open },
    name ? zoho(name) : `customer ${c.contact_id}`,
  )
  const where = picked() || organizations().length < 2 ? '' : `; ${label(c.organization_id)}`
  return h(
    'article',
    { class: 'card case', 'data-case-id': c.case_id, 'data-state': c.state, 'data-organization-id': c.organization_id },
    h(
      'h3',
      {},
      badge(c.decision),
      ' ',
      link,
      ' — ',
      zoho(c.order.reference),
      `, ${amount(c.order.amount)}${c.order.currency ? ` ${c.order.currency}` : ''}`,
    ),
    h(
      'p',
      { class: 'note' },
      `${c.state}, opened ${when(c.opened_at)} (${ago(Date.now() - Date.parse(c.opened_at))} ago) by ${c.opened_by}`,
      c.release ? `; released up to ${amount(c.release.amount)} until ${when(c.release.valid_until)}` : '',
      where,
    ),
    h(
      'ul',
      { class: 'messages' },
      c.reasons.map((r) => h('li', {}, zoho(r.message), ' ', h('code', {}, r.code))),
    ),
    h(
      'details',
      { class: 'case-history', open: c.state !== 'open' },
      h('summary', {}, `History (${c.history.length})`),
      historyList(c.history),
    ),
    c.state === 'open' && mayDecide() ? actions(c, done) : '',
  )
}

/** @param {Case[]} cases @param {() => void} done */
async function caseBlocks(cases, done) {
  await namesFor(cases)
  return Promise.all(cases.map(async (c) => caseBlock(c, await nameOf(c.decision_id), done)))
}

/** #cases: the open cases, oldest first, and the cases opened in the last 7 days that were closed since. */
export async function casesView() {
  show('cases-out', h('p', { class: 'note' }, 'Reading the cases…'))
  /** @type {[Answer<Schemas['CasePage']>, Answer<Schemas['CasePage']>]} */
  const [open, recent] = await Promise.all([
    api(`/cases?${query({ state: 'open', limit: '500' })}`),
    api(`/cases?${query({ since: '7d', limit: '500' })}`),
  ])
  if (open.missing) return show('cases-out', h('p', { class: 'note', 'data-missing': '' }, 'Cases are not available on this server.'))
  if (!open.ok) return show('cases-out', h('p', { class: 'error', role: 'alert' }, problemText(open)))
  const waiting = open.data.cases
  const closed = recent.ok ? recent.data.cases.filter((c) => c.state !== 'open').reverse() : []
  const refresh = () => void casesView()
  show(
    'cases-out',
    h(
      'p',
      { id: 'cases-summary' },
      waiting.length
        ? `${waiting.length} held order${waiting.length === 1 ? '' : 's'} waiting, the oldest first.`
        : 'No held order is waiting.',
      mayDecide() ? '' : ' Your role may read cases, not release or reject them.',
    ),
    h('div', { id: 'cases-open' }, ...(await caseBlocks(waiting, refresh))),
    h('h3', {}, 'Closed in the last 7 days'),
    h('div', { id: 'cases-closed' }, ...(closed.length ? await caseBlocks(closed, refresh) : [h('p', { class: 'note' }, 'None.')])),
  )
  announce(`${waiting.length} cases waiting`)
}

/**
 * The customer view's cases: every case of the contact in the organization, open ones first.
 * @param {string} contactId
 * @param {string} org
 * @param {() => void} done
 */
export async function customerCases(contactId, org, done) {
  /** @type {Answer<Schemas['CasePage']>} */
  const r = await api(`/cases?${query({ contact_id: contactId, limit: '100' }, org)}`)
  if (r.missing) return [h('p', { class: 'note', 'data-missing': '' }, 'Cases are not available on this server.')]
  if (!r.ok) return [h('p', { class: 'error' }, problemText(r))]
  const cases = r.data.cases
  if (cases.length === 0) return [h('p', { class: 'note' }, 'No order of this customer has been held.')]
  cases.sort((a, b) => Number(b.state === 'open') - Number(a.state === 'open'))
  return caseBlocks(cases, done)
}
