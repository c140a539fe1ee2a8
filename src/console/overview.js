// @ts-check
// #overview: decisions of the last 24 hours by outcome per hour and the most frequent codes (from
// the decision history; this instance's counters from /metrics where there is none), the Zoho
// budget, the rules that decide and the shadow summary — of the organization picked, or of all.
import { api, codesOf, history, notAvailable, problemText, recordedAt } from './api.js'
import { barChart, COLOURS, countTicks, DECISIONS, fromZero, matrixTable, plot, summary } from './charts.js'
import { $, announce, count, dataTable, h, show, when } from './lib.js'
import { label, picked, query } from './organizations.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 * @typedef {import('./api.js').DecisionRecord} DecisionRecord
 */
/**
 * @template [T=any]
 * @typedef {import('./api.js').Answer<T>} Answer
 */

/** Pages of the decision history read for the overview (newest first). */
const HISTORY_PAGES = 50

export async function overview() {
  const org = picked()
  const since = new Date(Date.now() - 86_400_000)
  const rules = api(`/rules?${query()}`)
  const recent = history(Object.fromEntries(query({ since: since.toISOString() })), HISTORY_PAGES)
  void api('/zoho/budget').then(renderBudget)
  void api(`/rules/shadow?${query()}`).then(renderShadow)
  /** @type {Answer<Schemas['RuleSetStatus']>} */
  const rulesR = await rules
  renderRulesStatus(rulesR, org)
  const recentR = await recent
  if (recentR.ok) renderTimeline(recentR, since)
  else await renderFromMetrics(recentR, rulesR.ok ? rulesR.data.rules : [])
  announce('Overview loaded')
}

/** @param {{ records: DecisionRecord[], complete: boolean }} history @param {Date} since */
function renderTimeline({ records, complete }, since) {
  const hour = 3_600_000
  const start = Math.floor(since.getTime() / hour) * hour + hour
  const xs = Array.from({ length: 24 }, (_, i) => (start + i * hour) / 1000)
  const series = { allow: xs.map(() => 0), review: xs.map(() => 0), block: xs.map(() => 0) }
  /** @type {Map<string, number>} */
  const codes = new Map()
  let counted = 0
  for (const r of records) {
    const at = recordedAt(r)
    if (!(at >= since.getTime())) continue
    const i = Math.min(23, Math.max(0, Math.floor((at - start) / hour) + 1))
    series[r.decision][i] = (series[r.decision][i] ?? 0) + 1
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
      scales: { x: { time: true }, y: { range: fromZero } },
      axes: [{}, { values: countTicks }],
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
        ...DECISIONS.map((d) => count(series[d][i] ?? 0)),
      ]),
    ),
  )
  $('codes-note').textContent = 'From the decisions recorded in the last 24 hours.'
  renderCodes([...codes])
}

/**
 * Prometheus text → the samples of one series, with their labels.
 * @param {string} text
 * @param {string} name
 */
function metricSamples(text, name) {
  const out = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const match = /^[^{]+\{([^}]*)\}\s+(\S+)$/.exec(line)
    if (!match) continue
    const labels = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    out.push({ labels, value: Number(match[2]) })
  }
  return out
}

/**
 * Without the decision history: this instance's counters since it started, from /metrics (all organizations).
 * @param {Answer} failed
 * @param {Schemas['RuleSetStatus']['rules']} rules
 */
async function renderFromMetrics(failed, rules) {
  const res = await fetch('/metrics')
  const text = res.ok ? await res.text() : ''
  const outcomes = DECISIONS.map((d) => metricSamples(text, 'creditgate_decisions_total').find((s) => s.labels.decision === d)?.value ?? 0)
  const why = failed.missing
    ? 'The decision history is not available on this server'
    : `The decision history failed (${problemText(failed)})`
  $('timeline-note').textContent = `${why}: decisions by outcome since this instance started, from /metrics.`
  const el = $('timeline-chart')
  const words = DECISIONS.map((d, i) => `${count(outcomes[i] ?? 0)} ${d}`).join(', ')
  el.setAttribute('aria-label', `Decisions since this instance started: ${words}`)
  barChart(el, DECISIONS, outcomes, { colours: DECISIONS.map((d) => COLOURS[d]) })
  show(
    'timeline-table',
    dataTable(
      'Decisions by outcome',
      ['outcome', 'decisions'],
      DECISIONS.map((d, i) => [d, count(outcomes[i] ?? 0)]),
    ),
  )
  const codeOf = new Map(rules.map((r) => [r.name, r.code]))
  /** @type {Map<string, number>} */
  const codes = new Map()
  for (const s of metricSamples(text, 'creditgate_rule_fired_total')) {
    const code = codeOf.get(s.labels.rule ?? '') ?? s.labels.rule ?? ''
    codes.set(code, (codes.get(code) ?? 0) + s.value)
  }
  $('codes-note').textContent = 'Since this instance started, from /metrics (rules fired).'
  renderCodes([...codes].filter(([, n]) => n > 0))
}

/** @param {[string, number][]} entries */
function renderCodes(entries) {
  const top = entries.sort((a, b) => b[1] - a[1]).slice(0, 8)
  if (top.length === 0) return show('codes', h('p', { class: 'note' }, 'No reason or alert yet.'))
  const max = top[0]?.[1] ?? 1
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

/** The Zoho calls of the last minute, of the organization picked or of each. @param {Answer<Schemas['ZohoBudget']>} r */
function renderBudget(r) {
  if (!r.ok) return show('budget', h('p', { class: 'error' }, problemText(r)))
  const org = picked()
  show(
    'budget',
    ...r.data.organizations
      .filter((o) => !org || o.organization_id === org)
      .map((o) => {
        const id = `budget-${o.organization_id}`
        return h(
          'div',
          {},
          h('label', { for: id }, `Organization ${label(o.organization_id)}`),
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
            `${count(o.calls_last_minute)} Zoho calls in the last minute, of a budget of ${count(o.requests_per_minute)} calls a minute; at most ${o.max_concurrency} at once.`,
          ),
        )
      }),
  )
}

/**
 * The set that decides for the organization picked (or the shared set), and with "all" which set
 * decides for each organization.
 * @param {Answer<Schemas['RuleSetStatus']>} r
 * @param {string | null} org
 */
function renderRulesStatus(r, org) {
  if (!r.ok) return show('rules-status', h('p', { class: 'error' }, problemText(r)))
  const s = r.data
  const failing = s.fixtures.failures.length
  const each = s.organizations.filter((o) => !org || o.organization_id === org)
  show(
    'rules-status',
    h(
      'dl',
      {},
      h('dt', {}, 'Version'),
      h(
        'dd',
        {},
        h('code', {}, s.version.slice(0, 19)),
        ' ',
        `(${s.rules.length} rules${org ? `, ${s.own ? 'its own set' : 'the shared set'}` : ''}, loaded ${when(s.loaded_at)})`,
      ),
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
    h(
      'ul',
      { id: 'rules-organizations' },
      each.map((o) =>
        h(
          'li',
          { 'data-organization-id': o.organization_id },
          `${label(o.organization_id)}: `,
          o.own ? 'its own set ' : 'the shared set ',
          h('code', {}, o.version.slice(0, 19)),
          `; base currency ${o.base_currency ?? 'not known yet'}.`,
        ),
      ),
    ),
  )
}

/** @param {Answer<Schemas['ShadowSummary']>} r */
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
