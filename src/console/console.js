// creditgate credit console: a page for operations and finance staff. Every figure comes from the
// public API, asked with the admin key the person types (kept in sessionStorage: this tab only), or
// as the person signed in through the identity provider (a server-side session behind an HttpOnly
// cookie the page never sees; calls that change something carry the session's CSRF token).
// No framework; charts by uPlot (loaded before this module as the global `uPlot`). Text from the
// API is always set as text, never as HTML. The worklist of held orders and the portfolio are
// modules of their own (cases.js, portfolio.js); the helpers all views share are in lib.js.

import { casesView, customerCases } from './cases.js'
import {
  $,
  age,
  amount,
  announce,
  api,
  badge,
  configureApi,
  count,
  dataTable,
  h,
  notAvailable,
  problemText,
  show,
  when,
  zoho,
} from './lib.js'
import { portfolioView } from './portfolio.js'

const KEY_STORE = 'creditgate.console.key'
const DECISIONS = ['allow', 'review', 'block']
const COLOURS = { allow: '#1b7f3b', review: '#a15c00', block: '#b42318', bars: '#1f4fbf' }
const BUCKETS = [
  ['not_due', 'Not due', 'not due'],
  ['days_1_30', '1–30 days', '1–30'],
  ['days_31_60', '31–60 days', '31–60'],
  ['days_61_90', '61–90 days', '61–90'],
  ['over_90', 'Over 90 days', '90+'],
]
/** Pages of the decision history read for the overview (newest first). */
const HISTORY_PAGE = 100
const HISTORY_PAGES = 50

let key = sessionStorage.getItem(KEY_STORE)
/** Signed in through the identity provider: who (GET /auth/me), with the CSRF token; null with a key. */
let me = null
let organizations = []
/** Counts the customers asked for: an answer that comes after another customer was asked for is not shown. */
let asked = 0
configureApi(
  () => ({ key, me }),
  (message) => signOut(message),
)

const isAmountFact = (fact) => /_bcy$|^credit_limit$|^order_amount$/.test(fact)
/** A fact's value in words: amounts with two decimals, other numbers grouped, the rest as JSON. */
function value(fact, v) {
  if (v === null || v === undefined) return 'none'
  if (typeof v === 'number') return isAmountFact(fact) ? amount(v) : count(v)
  if (typeof v === 'string') return `“${v}”`
  return JSON.stringify(v)
}

// ---------------------------------------------------------------------------------------------
// Charts (uPlot). Each chart element keeps its plot; the window's width resizes them all.

const plots = new Map()
function plot(el, options, data) {
  plots.get(el)?.destroy()
  el.replaceChildren()
  const u = new uPlot({ width: Math.max(240, el.clientWidth || 600), height: 220, ...options }, data, el)
  plots.set(el, u)
  return u
}
window.addEventListener('resize', () => {
  for (const [el, u] of plots) if (el.isConnected && el.clientWidth > 0) u.setSize({ width: el.clientWidth, height: 220 })
})

/** A bar chart over named categories; with `colours`, each bar its own colour (one series per category). */
function barChart(el, labels, values, { label, colour = COLOURS.bars, colours, xLabel } = {}) {
  const xs = labels.map((_, i) => i)
  const bars = (c) => ({ stroke: c, fill: c, paths: uPlot.paths.bars({ size: [0.6, 90] }), points: { show: false } })
  const series = colours ? labels.map((l, i) => ({ label: l, ...bars(colours[i]) })) : [{ label, ...bars(colour) }]
  const data = colours ? labels.map((_, i) => xs.map((x) => (x === i ? values[i] : null))) : [values]
  return plot(
    el,
    {
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [
        { splits: () => xs, values: (_u, splits) => splits.map((i) => labels[i] ?? ''), grid: { show: false }, label: xLabel },
        { values: (_u, splits) => splits.map(count), size: 70 },
      ],
      series: [{}, ...series],
    },
    [xs, ...data],
  )
}

// ---------------------------------------------------------------------------------------------
// Sign-in: the key is checked on an admin route before any view shows.

async function signIn(candidate) {
  key = candidate
  const r = await api('/zoho/budget')
  if (!r.ok) {
    signOut(
      r.status === 401
        ? 'This key is not valid.'
        : r.status === 403
          ? `Refused: ${r.data?.detail ?? 'not an admin key'}. The console needs an admin key.`
          : problemText(r),
    )
    return
  }
  if (!me) sessionStorage.setItem(KEY_STORE, candidate)
  organizations = r.data.organizations.map((o) => o.organization_id)
  show('customer-org', ...organizations.map((org) => h('option', { value: org }, org)))
  show('portfolio-org', ...organizations.map((org) => h('option', { value: org }, org)))
  $('nav').hidden = false
  $('sign-out').hidden = false
  $('sign-out').textContent = me ? 'Sign out' : 'Forget the key'
  $('who').textContent = me ? `${me.name} (${me.roles.join(', ')})` : ''
  // What the role may not do is not offered: backtests are for admins.
  $('candidate-backtest').hidden = Boolean(me) && !me.roles.includes('admin')
  route()
}

/** Signed in through the identity provider (a session cookie): who, and the CSRF token. */
async function signInWithSession() {
  const res = await fetch('/auth/me').catch(() => null)
  const data = res?.ok ? await res.json() : null
  if (data?.via !== 'oidc') return false
  me = data
  await signIn(null)
  return true
}

async function endSession() {
  const res = await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': me.csrf_token } })
  const data = res.ok ? await res.json() : {}
  me = null
  signOut('Signed out.')
  if (data.end_session_url) window.location.assign(data.end_session_url)
}

function signOut(message = '') {
  key = null
  me = null
  $('who').textContent = ''
  sessionStorage.removeItem(KEY_STORE)
  $('nav').hidden = true
  $('sign-out').hidden = true
  for (const view of document.querySelectorAll('main > section')) view.hidden = view.id !== 'view-login'
  $('login-error').textContent = message
  $('login-key').value = ''
  $('login-key').focus()
}

// ---------------------------------------------------------------------------------------------
// Views: #overview, #cases, #portfolio, #customer[/id], #rules.

/**
 * The view and its argument in an address such as #customer/460000000026049. Whatever the address
 * holds, this returns: an argument that does not decode is null.
 */
function parseHash(hash) {
  const [view = 'overview', ...rest] = hash.replace(/^#/, '').split('/')
  const raw = rest.join('/')
  try {
    return { view, arg: raw ? decodeURIComponent(raw) : undefined }
  } catch {
    return { view, arg: null }
  }
}

function route() {
  if (!key && !me) return signOut()
  const { view, arg } = parseHash(location.hash)
  const name = ['overview', 'cases', 'portfolio', 'customer', 'rules'].includes(view) ? view : 'overview'
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.id !== `view-${name}`
  for (const link of document.querySelectorAll('nav a')) {
    if (link.dataset.view === name) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  if (name === 'overview') void overview()
  if (name === 'cases') void casesView()
  if (name === 'portfolio') void portfolioView()
  if (name === 'customer') {
    if (arg === null) {
      // Nothing of the customer shown before stays on screen under an address that names none.
      asked++
      $('customer-id').value = ''
      show(
        'customer-out',
        h('p', { class: 'error', role: 'alert' }, 'This address does not name a contact: a contact id is 1 to 19 digits.'),
      )
    } else if (arg) {
      $('customer-id').value = arg
      void customer(arg)
    }
    $('customer-id').focus()
  }
  if (name === 'rules') void rulesView()
}
window.addEventListener('hashchange', route)

// Overview -------------------------------------------------------------------------------------

/** Recorded decisions, newest first, following the cursor up to `pages` pages. */
async function history(query, pages) {
  const records = []
  let cursor = null
  for (let page = 0; page < pages; page++) {
    const params = new URLSearchParams({ ...query, limit: String(HISTORY_PAGE) })
    if (cursor) params.set('cursor', cursor)
    const r = await api(`/decisions?${params}`)
    if (!r.ok) return { ...r, records }
    const list = Array.isArray(r.data) ? r.data : (r.data.decisions ?? r.data.items ?? [])
    records.push(...list)
    cursor = r.data.next_cursor ?? r.data.cursor ?? null
    if (!cursor || list.length === 0) return { ok: true, records, complete: true }
  }
  return { ok: true, records, complete: false }
}
const recordedAt = (r) => Date.parse(r.evaluated_at ?? r.recorded_at ?? r.time ?? r.at)
const codesOf = (r) => [...(r.reasons ?? []), ...(r.alerts ?? [])].map((m) => (typeof m === 'string' ? m : m.code))

/** Prometheus text → [{name, labels, value}] for the few series the overview reads. */
function metricSamples(text, name) {
  const out = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const match = /^[^{]+\{([^}]*)\}\s+(\S+)$/.exec(line)
    if (!match) continue
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    out.push({ labels, value: Number(match[2]) })
  }
  return out
}

async function overview() {
  const [rules, budget, shadow, since] = [api('/rules'), api('/zoho/budget'), api('/rules/shadow'), new Date(Date.now() - 86_400_000)]
  const recent = history({ since: since.toISOString() }, HISTORY_PAGES)
  void budget.then(renderBudget)
  void shadow.then(renderShadow)
  const rulesR = await rules
  renderRulesStatus(rulesR)
  const recentR = await recent
  if (recentR.ok) renderTimeline(recentR, since)
  else await renderFromMetrics(recentR, rulesR.ok ? rulesR.data.rules : [])
  announce('Overview loaded')
}

function renderTimeline({ records, complete }, since) {
  const hour = 3_600_000
  const start = Math.floor(since.getTime() / hour) * hour + hour
  const xs = Array.from({ length: 24 }, (_, i) => (start + i * hour) / 1000)
  const series = Object.fromEntries(DECISIONS.map((d) => [d, xs.map(() => 0)]))
  const codes = new Map()
  let counted = 0
  for (const r of records) {
    const at = recordedAt(r)
    if (!(at >= since.getTime()) || !series[r.decision]) continue
    const i = Math.min(23, Math.max(0, Math.floor((at - start) / hour) + 1))
    series[r.decision][i]++
    counted++
    for (const code of codesOf(r)) codes.set(code, (codes.get(code) ?? 0) + 1)
  }
  const totals = DECISIONS.map((d) => `${count(series[d].reduce((a, b) => a + b, 0))} ${d}`).join(', ')
  $('timeline-note').textContent =
    `${count(counted)} decisions recorded since ${when(since.toISOString())}${complete ? '' : ` (the newest ${count(records.length)} read)`}: ${totals}.`
  const el = $('timeline-chart')
  el.setAttribute('aria-label', `Decisions per hour over the last 24 hours: ${totals}`)
  plot(
    el,
    {
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [{}, { values: (_u, splits) => splits.map(count) }],
      series: [
        { label: 'hour' },
        ...DECISIONS.map((d) => ({ label: d, stroke: COLOURS[d], width: 2, points: { show: true, size: 5, fill: COLOURS[d] } })),
      ],
    },
    [xs, ...DECISIONS.map((d) => series[d])],
  )
  show(
    'timeline-table',
    dataTable(
      'Decisions per hour',
      ['hour', ...DECISIONS],
      xs.map((x, i) => [
        new Date(x * 1000).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' }),
        ...DECISIONS.map((d) => count(series[d][i])),
      ]),
    ),
  )
  $('codes-note').textContent = 'From the decisions recorded in the last 24 hours.'
  renderCodes([...codes])
}

/** Without the decision history: this instance's counters since it started, from /metrics. */
async function renderFromMetrics(failed, rules) {
  const res = await fetch('/metrics')
  const text = res.ok ? await res.text() : ''
  const outcomes = DECISIONS.map((d) => metricSamples(text, 'creditgate_decisions_total').find((s) => s.labels.decision === d)?.value ?? 0)
  const why = failed.missing
    ? 'The decision history is not available on this server'
    : `The decision history failed (${problemText(failed)})`
  $('timeline-note').textContent = `${why}: decisions by outcome since this instance started, from /metrics.`
  const el = $('timeline-chart')
  el.setAttribute(
    'aria-label',
    `Decisions since this instance started: ${DECISIONS.map((d, i) => `${count(outcomes[i])} ${d}`).join(', ')}`,
  )
  barChart(el, DECISIONS, outcomes, { colours: DECISIONS.map((d) => COLOURS[d]) })
  show(
    'timeline-table',
    dataTable(
      'Decisions by outcome',
      ['outcome', 'decisions'],
      DECISIONS.map((d, i) => [d, count(outcomes[i])]),
    ),
  )
  const codeOf = new Map(rules.map((r) => [r.name, r.code]))
  const codes = new Map()
  for (const s of metricSamples(text, 'creditgate_rule_fired_total')) {
    const code = codeOf.get(s.labels.rule) ?? s.labels.rule
    codes.set(code, (codes.get(code) ?? 0) + s.value)
  }
  $('codes-note').textContent = 'Since this instance started, from /metrics (rules fired).'
  renderCodes([...codes].filter(([, n]) => n > 0))
}

function renderCodes(entries) {
  const top = entries.sort((a, b) => b[1] - a[1]).slice(0, 8)
  if (top.length === 0) return show('codes', h('p', { class: 'note' }, 'No reason or alert yet.'))
  const max = top[0][1]
  const rows = top.map(([code, n]) => {
    const bar = h('span', { class: 'count-bar', 'aria-hidden': 'true' })
    bar.style.width = `${Math.round((n / max) * 100)}%`
    return h('tr', {}, h('th', { scope: 'row' }, h('code', {}, code), bar), h('td', { class: 'num' }, count(n)))
  })
  show(
    'codes',
    h(
      'table',
      { id: 'codes-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'code'), h('th', { scope: 'col', class: 'num' }, 'times'))),
      h('tbody', {}, rows),
    ),
  )
}

function renderBudget(r) {
  if (!r.ok) return show('budget', h('p', { class: 'error' }, problemText(r)))
  show(
    'budget',
    ...r.data.organizations.map((o) => {
      const id = `budget-${o.organization_id}`
      return h(
        'div',
        {},
        h('label', { for: id }, `Organization ${o.organization_id}`),
        h('meter', {
          id,
          min: 0,
          max: o.requests_per_minute,
          low: Math.floor(o.requests_per_minute * 0.5),
          high: Math.floor(o.requests_per_minute * 0.8),
          optimum: 0,
          value: o.calls_last_minute,
        }),
        h(
          'p',
          { class: 'note' },
          `${count(o.calls_last_minute)} of ${count(o.requests_per_minute)} Zoho calls in the last minute (ZOHO_REQUESTS_PER_MINUTE); at most ${o.max_concurrency} at once.`,
        ),
      )
    }),
  )
}

function renderRulesStatus(r) {
  if (!r.ok) return show('rules-status', h('p', { class: 'error' }, problemText(r)))
  const s = r.data
  const failing = s.fixtures.failures.length
  show(
    'rules-status',
    h(
      'dl',
      {},
      h('dt', {}, 'Version'),
      h('dd', {}, h('code', {}, s.version.slice(0, 19)), ' ', `(${s.rules.length} rules, loaded ${when(s.loaded_at)})`),
      h('dt', {}, 'Fixtures'),
      h('dd', {}, `${count(s.fixtures.passed)} cases passed${failing ? `, ${failing} failing` : ''}`),
      h('dt', {}, 'Last reload error'),
      s.last_error
        ? h(
            'dd',
            { class: 'error' },
            `${when(s.last_error.at)} (${s.last_error.trigger}): `,
            h(
              'ul',
              {},
              s.last_error.errors.map((e) => h('li', {}, `${e.file} ${e.path}: ${e.message}`)),
            ),
          )
        : h('dd', {}, 'none: the last change went live'),
    ),
  )
}

function renderShadow(r) {
  if (r.missing) return show('shadow', notAvailable('Shadow evaluation (GET /rules/shadow)'))
  if (!r.ok)
    return show('shadow', h('p', { class: 'note' }, r.status === 404 ? 'No shadow set is loaded (RULES_SHADOW_DIR).' : problemText(r)))
  const s = r.data
  const error = s.last_error
  const parts = []
  if (s.version && s.matrix) parts.push(summary(s), matrixTable(s.matrix, 'Live (rows) against shadow (columns)'))
  else parts.push(h('p', { class: 'note' }, 'No shadow set is loaded (RULES_SHADOW_DIR).'))
  if (error) parts.push(h('p', { class: 'error' }, `Last shadow load error: ${typeof error === 'string' ? error : JSON.stringify(error)}`))
  show('shadow', ...parts)
}

const summary = (s) =>
  h(
    'p',
    { class: 'summary' },
    `${count(s.evaluated ?? 0)} decisions evaluated, ${count(s.changed ?? 0)} would change`,
    s.not_comparable ? `, ${count(s.not_comparable)} not comparable (their records lack facts the candidate reads)` : '',
    '.',
  )

/** The outcome matrix: rows before, columns after; changes stand out. */
function matrixTable(matrix, caption) {
  return h(
    'table',
    { class: 'matrix' },
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('td', {}),
        DECISIONS.map((d) => h('th', { scope: 'col', class: 'num' }, `→ ${d}`)),
      ),
    ),
    h(
      'tbody',
      {},
      DECISIONS.map((before) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, before),
          DECISIONS.map((after) => {
            const n = matrix[before]?.[after] ?? 0
            return h(
              'td',
              { class: `num${before !== after && n > 0 ? ' changed' : ''}`, 'data-before': before, 'data-after': after },
              count(n),
            )
          }),
        ),
      ),
    ),
  )
}

// Customer -------------------------------------------------------------------------------------

$('customer-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const id = $('customer-id').value.trim()
  if (location.hash === `#customer/${id}`) void customer(id)
  else location.hash = `#customer/${id}`
})

async function customer(id) {
  const mine = ++asked
  if (!/^[1-9]\d{0,18}$/.test(id))
    return show('customer-out', h('p', { class: 'error', role: 'alert' }, 'A contact id is 1 to 19 digits, without a leading zero.'))
  const org = $('customer-org').value
  const amountText = $('customer-amount').value.trim()
  const query = new URLSearchParams({ explain: 'true' })
  if (amountText) query.set('order_amount', amountText)
  if (org) query.set('organization_id', org)
  show('customer-out', h('p', { class: 'note' }, `Asking for ${id}…`))
  // The decision first: the recent decisions then include it.
  const risk = await api(`/contacts/${id}/risk?${query}`)
  const [receivables, payments, recent, held] = await Promise.all([
    api(`/contacts/${id}/receivables${org ? `?organization_id=${org}` : ''}`),
    api(`/contacts/${id}/payments${org ? `?organization_id=${org}` : ''}`),
    api(`/decisions?${new URLSearchParams({ contact_id: id, limit: '10' })}`),
    api(`/contacts/${id}/reservations${org ? `?organization_id=${org}` : ''}`),
  ])
  if (mine !== asked) return
  if (!risk.ok) return show('customer-out', h('p', { class: 'error', role: 'alert' }, problemText(risk)))
  const d = risk.data
  const f = d.facts
  const casesCard = h('article', { class: 'card', 'aria-labelledby': 'cases-title' }, h('h3', { id: 'cases-title' }, 'Held orders (cases)'))
  const exposureCard = h('article', { class: 'card', 'aria-labelledby': 'exposure-title' }, h('h3', { id: 'exposure-title' }, 'Exposure'))
  const ageingCard = h('article', { class: 'card', 'aria-labelledby': 'ageing-title' }, h('h3', { id: 'ageing-title' }, 'Ageing'))
  const paymentsCard = h(
    'article',
    { class: 'card', 'aria-labelledby': 'payments-title' },
    h('h3', { id: 'payments-title' }, 'How it pays'),
  )
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
      reservationsTable(held),
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
  const casesTitle = casesCard.firstChild
  const listCases = async () => casesCard.replaceChildren(casesTitle, ...(await customerCases(id, org, () => void listCases())))
  await listCases()
  announce(`Decision for ${d.contact_id}: ${d.decision}`)
}

function messages(d) {
  const items = [
    ...d.reasons.map((r) => h('li', {}, h('strong', {}, `${r.severity}: `), zoho(r.message), ' ', h('code', {}, r.code))),
    ...d.alerts.map((a) => h('li', {}, h('strong', {}, 'alert: '), zoho(a.message), ' ', h('code', {}, a.code))),
  ]
  return items.length ? h('ul', { class: 'messages' }, items) : h('p', {}, 'No rule fired: nothing stands against this order.')
}

/** Allowed orders with a reference that Zoho does not list yet: each live, matched or expired. */
function reservationsTable(r) {
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

/** Outstanding + open orders + reserved + this order against the credit limit, as one bar. */
function exposure(card, f) {
  const orders = f.open_orders_bcy ?? 0
  const reserved = f.reserved_bcy ?? 0
  const total = f.outstanding_bcy + orders + reserved + f.order_amount
  const limit = f.credit_limit
  const scale = Math.max(total, limit ?? 0) * 1.05 || 1
  const parts = [
    ['outstanding', 'Outstanding', f.outstanding_bcy],
    ['orders', 'Open orders', orders],
    ...(reserved > 0 ? [['reserved', 'Reserved', reserved]] : []),
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

function ageing(card, r) {
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

/** Days to pay month by month over the last 12 months, the payment facts, the review date and the limit's validity. */
function paying(card, r) {
  if (r.missing) return card.append(notAvailable('The payments view (GET /contacts/{id}/payments)'))
  if (!r.ok) return card.append(h('p', { class: 'error' }, problemText(r)))
  const d = r.data
  const review =
    d.credit_review_date === null
      ? 'No credit review date set.'
      : `Credit review ${d.credit_review_date}${d.credit_review_overdue_days > 0 ? `: overdue by ${count(d.credit_review_overdue_days)} days` : ''}.`
  const limit =
    d.credit_limit_until === null
      ? 'The credit limit has no end date.'
      : `The credit limit ${d.credit_limit_expired ? 'expired after' : 'holds through'} ${d.credit_limit_until}.`
  card.append(h('p', { id: 'credit-dates' }, `${review} ${limit}`))
  const p = d.payments
  if (!p)
    return card.append(h('p', { class: 'note' }, 'No active or shadow rule reads payment facts, so paid invoices are not read from Zoho.'))
  const fact = (n, unit = ' days') => (n === null ? 'none' : `${n}${unit}`)
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

const OPERATORS = {
  equal: 'is',
  notEqual: 'is not',
  greaterThan: 'is more than',
  greaterThanInclusive: 'is at least',
  lessThan: 'is less than',
  lessThanInclusive: 'is at most',
  in: 'is one of',
  notIn: 'is not one of',
  contains: 'contains',
  doesNotContain: 'does not contain',
}
const factName = (fact, path) => `${fact.replaceAll('_', ' ')}${path ? ` ${path}` : ''}`

/** The trace in words: each rule, fired or not, and each condition with its values. */
function traceWords(trace) {
  if (trace.length === 0) return h('p', { class: 'note' }, 'No trace.')
  return h(
    'ol',
    { class: 'trace' },
    trace.map((rule) =>
      h(
        'li',
        {},
        h('span', { class: rule.fired ? 'fired' : undefined }, `${rule.rule} (${rule.type}): ${rule.fired ? 'fired' : 'did not fire'}`),
        h(
          'ul',
          {},
          rule.conditions.map((c) =>
            h(
              'li',
              {},
              `${factName(c.fact, c.path)} is `,
              zoho(value(c.fact, c.fact_value)),
              `; the rule asks whether it ${OPERATORS[c.operator] ?? c.operator} `,
              zoho(value(c.fact, c.compared_with)),
              ': ',
              h('strong', {}, c.result === null ? 'not evaluated' : c.result ? 'yes' : 'no'),
            ),
          ),
        ),
      ),
    ),
  )
}

const RECEIVABLES_FACTS = new Set([
  'overdue_bcy',
  'oldest_overdue_days',
  'overdue_invoices',
  'overdue_ratio',
  'open_orders_bcy',
  'exposure_with_orders_bcy',
  'credit_limit_utilization',
])
const PAYMENT_FACTS = new Set([
  'paid_invoices_12m',
  'avg_days_to_pay_12m',
  'avg_days_late_12m',
  'weighted_days_late_12m',
  'days_late_trend',
])
const COMPUTED = new Set(['exposure_bcy', 'available_credit_bcy', 'contact_age_seconds'])

function factsTable(d) {
  if (!d.facts) return h('p', { class: 'note' }, 'No contact data was available.')
  const contactSource = d.contact
    ? `Zoho contact (${d.contact.source}, fetched ${when(d.contact.fetched_at)}, ${age(d.contact.age_seconds)})`
    : '—'
  const receivablesSource = d.receivables
    ? `Zoho open invoices and sales orders (read ${when(d.receivables.as_of)}, ${age(d.receivables.age_seconds)})`
    : 'not read: no rule uses them'
  const paymentsSource = d.payments
    ? `Zoho paid invoices of 12 months (read ${when(d.payments.as_of)}, ${age(d.payments.age_seconds)})`
    : 'not read: no rule uses them'
  const rows = Object.entries(d.facts)
    .filter(([fact]) => fact !== 'custom_fields')
    .map(([fact, v]) => [
      fact,
      value(fact, v),
      fact === 'order_amount'
        ? 'this request'
        : RECEIVABLES_FACTS.has(fact)
          ? receivablesSource
          : PAYMENT_FACTS.has(fact)
            ? paymentsSource
            : COMPUTED.has(fact)
              ? 'worked out from the above'
              : contactSource,
    ])
  for (const [name, v] of Object.entries(d.facts.custom_fields)) rows.push([`custom_fields.${name}`, value(name, v), contactSource])
  return h(
    'table',
    { id: 'facts-table', class: 'stack' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['fact', 'value', 'from'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map(([fact, v, from]) => h('tr', {}, h('th', { scope: 'row' }, h('code', {}, fact)), h('td', {}, zoho(v)), h('td', {}, from))),
    ),
  )
}

function recentTable(r) {
  if (r.missing) return notAvailable('The decision history (GET /decisions)')
  if (!r.ok) return h('p', { class: 'error' }, problemText(r))
  const list = Array.isArray(r.data) ? r.data : (r.data.decisions ?? r.data.items ?? [])
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

// Rules ----------------------------------------------------------------------------------------

/** A json-rules-engine condition tree in words. */
function conditionWords(c) {
  if (!c || typeof c !== 'object') return String(c)
  if (Array.isArray(c.all)) return c.all.map((x) => group(x, 'any')).join(' and ')
  if (Array.isArray(c.any)) return c.any.map((x) => group(x, 'all')).join(' or ')
  if (c.not) return `not (${conditionWords(c.not)})`
  if (c.condition) return `condition “${c.condition}”`
  const other = c.value && typeof c.value === 'object' && !Array.isArray(c.value) && 'fact' in c.value
  return `${factName(c.fact, c.path)} ${OPERATORS[c.operator] ?? c.operator} ${other ? factName(c.value.fact, c.value.path) : value(c.fact, c.value)}`
}
const group = (c, nested) => (c && Array.isArray(c[nested]) && c[nested].length > 1 ? `(${conditionWords(c)})` : conditionWords(c))

let active = []
let candidate = []

async function rulesView() {
  const r = await api('/rules')
  if (!r.ok) return show('active-rules', h('p', { class: 'error' }, problemText(r)))
  active = r.data.rules
  const failures = r.data.fixtures.failures
  show(
    'active-rules',
    h(
      'p',
      { class: 'note' },
      `Version ${r.data.version.slice(0, 19)}, ${active.length} rules; fixtures: ${count(r.data.fixtures.passed)} cases passed.`,
    ),
    h(
      'table',
      { id: 'active-table', class: 'stack' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['rule', 'does', 'when', 'fixtures'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        active.map((rule) => {
          const failing = failures.filter((x) => x.file === `tests/${rule.file}` || x.file.endsWith(`/${rule.file}`))
          return h(
            'tr',
            {},
            h('th', { scope: 'row' }, rule.name, h('br'), h('span', { class: 'note' }, rule.file)),
            h('td', {}, badge(rule.type), ' ', h('code', {}, rule.code), h('br'), rule.message),
            h('td', {}, conditionWords(rule.conditions)),
            h(
              'td',
              { class: failing.length ? 'error' : undefined },
              failing.length ? failing.map((x) => `${x.case}: ${x.message}`).join('; ') : 'pass',
            ),
          )
        }),
      ),
    ),
  )
  if (candidate.length === 0) resetCandidate()
  announce('Rules loaded')
}

/** A rule file as the rules folder would hold it, rebuilt from GET /rules. */
const ruleFile = (rule) =>
  JSON.stringify(
    {
      name: rule.name,
      ...(rule.description ? { description: rule.description } : {}),
      priority: rule.priority,
      conditions: rule.conditions,
      event: { type: rule.type, params: { code: rule.code, message: rule.message } },
    },
    null,
    2,
  )

function resetCandidate() {
  candidate = active.map((rule) => ({ file: rule.file, text: ruleFile(rule) }))
  renderCandidate()
}

function renderCandidate() {
  show(
    'candidate',
    ...candidate.map((entry, i) => {
      const id = `candidate-${i}`
      return h(
        'details',
        { class: 'file', 'data-file': entry.file },
        h('summary', {}, entry.file),
        h('label', { for: `${id}-name` }, 'File name'),
        h('input', {
          id: `${id}-name`,
          value: entry.file,
          oninput: (e) => {
            entry.file = e.target.value
          },
        }),
        h('label', { for: id }, 'Content (JSON)'),
        h(
          'textarea',
          {
            id,
            spellcheck: 'false',
            oninput: (e) => {
              entry.text = e.target.value
            },
          },
          entry.text,
        ),
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              candidate.splice(i, 1)
              renderCandidate()
            },
          },
          `Remove ${entry.file}`,
        ),
      )
    }),
  )
}

$('candidate-reset').addEventListener('click', resetCandidate)
$('candidate-add').addEventListener('click', () => {
  candidate.push({
    file: `new-rule-${candidate.length + 1}.json`,
    text: '{\n  "name": "",\n  "conditions": { "all": [] },\n  "event": { "type": "review", "params": { "code": "", "message": "" } }\n}',
  })
  renderCandidate()
  const opened = $('candidate').lastElementChild
  opened.open = true
  opened.querySelector('textarea').focus()
})
$('candidate-files').addEventListener('change', async (event) => {
  for (const file of event.target.files) {
    const text = await file.text()
    const known = candidate.find((c) => c.file === file.name)
    if (known) known.text = text
    else candidate.push({ file: file.name, text })
  }
  event.target.value = ''
  renderCandidate()
  announce('Files added to the candidate set')
})

const candidateBody = () => ({ rules: candidate.map((c) => ({ file: c.file, content: c.text })) })

/** Validation errors, each a button that opens the file it names. */
function errorList(errors) {
  return h(
    'ul',
    { class: 'errors' },
    errors.map((e) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              const i = candidate.findIndex((c) => c.file === e.file)
              const details = $('candidate').children[i]
              if (!details) return
              details.open = true
              details.querySelector('textarea').focus()
            },
          },
          `${e.file} ${e.path}`,
        ),
        `: ${e.message}`,
      ),
    ),
  )
}

$('candidate-validate').addEventListener('click', async () => {
  show('validation', h('p', { class: 'note' }, 'Validating…'))
  const r = await api('/rules/validate', { method: 'POST', body: candidateBody() })
  if (!r.ok) return show('validation', h('p', { class: 'error' }, problemText(r)))
  const v = r.data
  const fixtureFailures = v.fixtures.failures
  show(
    'validation',
    h(
      'p',
      { class: v.valid ? undefined : 'error', id: 'validation-verdict' },
      v.valid ? `Valid: this set would go live (version ${v.version?.slice(0, 19)}).` : 'Not valid: this set would not go live.',
      ` Fixtures: ${count(v.fixtures.passed)} passed, ${fixtureFailures.length} failing.`,
    ),
    v.errors.length ? errorList(v.errors) : '',
    fixtureFailures.length
      ? h(
          'ul',
          {},
          fixtureFailures.map((x) => h('li', {}, `${x.file} “${x.case}”: ${x.message}`)),
        )
      : '',
  )
})

$('candidate-backtest').addEventListener('click', async () => {
  show('backtest', h('p', { class: 'note' }, 'Running the backtest…'))
  const r = await api('/rules/backtest', { method: 'POST', body: candidateBody() })
  if (r.missing) return show('backtest', notAvailable('The backtest (POST /rules/backtest)'))
  if (!r.ok)
    return show('backtest', h('p', { class: 'error' }, problemText(r)), Array.isArray(r.data?.errors) ? errorList(r.data.errors) : '')
  const b = r.data
  show(
    'backtest',
    summary(b),
    matrixTable(b.matrix, 'Recorded decision (rows) against the candidate’s (columns)'),
    h(
      'table',
      { id: 'backtest-rules' },
      h('caption', {}, 'Times each rule fired'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['rule', 'before', 'after'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : undefined }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        b.rules.map((x) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, x.name),
            h('td', { class: 'num' }, count(x.fired_before)),
            h('td', { class: `num${x.fired_after !== x.fired_before ? ' changed' : ''}` }, count(x.fired_after)),
          ),
        ),
      ),
    ),
    b.examples.length
      ? h(
          'table',
          { id: 'backtest-examples' },
          h('caption', {}, 'Decisions that would change'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['customer', 'before', 'after', 'why after'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            b.examples.map((x) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#customer/${x.contact_id}` }, x.contact_id)),
                h('td', {}, badge(x.before)),
                h('td', {}, badge(x.after)),
                h('td', {}, (x.reasons_after ?? []).map((m) => (typeof m === 'string' ? m : (m.message ?? m.code))).join('; ') || '—'),
              ),
            ),
          ),
        )
      : h('p', { class: 'note' }, 'No recorded decision would change.'),
  )
  announce(`Backtest: ${b.changed} of ${b.evaluated} decisions would change`)
})

// Start ----------------------------------------------------------------------------------------

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  void signIn($('login-key').value.trim())
})
$('sign-out').addEventListener('click', () => (me ? void endSession() : signOut('The key is forgotten.')))
// The provider's sign-in, where this server offers it (a session may already be open).
const signInOptions = fetch('/auth/config')
  .then((res) => (res.ok ? res.json() : {}))
  .catch(() => ({}))
void signInOptions.then((config) => {
  $('login-oidc').hidden = !config.sign_in_url
})
if (key) void signIn(key)
else
  void signInOptions.then(async (config) => {
    if (!config.sign_in_url || !(await signInWithSession())) signOut()
  })
