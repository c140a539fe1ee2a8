// @ts-check
// Facts and conditions in words. What each fact is (an amount or not), where it comes from and how
// an operator reads are the service's (GET /rules/facts, from the engine's catalogue): the console
// keeps no copy of them.
import { api } from './api.js'
import { age, amount, count, h, when, zoho } from './lib.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 * @typedef {Schemas['FactCatalogue']['facts'][number]} Fact
 * @typedef {Schemas['RiskDecision']} RiskDecision
 * @typedef {Schemas['TraceRule']} TraceRule
 */

/** @type {Map<string, Fact>} */
let facts = new Map()
/** @type {Map<string, string>} */
let words = new Map()

/** Reads the catalogue (once a sign-in): until then, facts read as plain numbers and operators as their names. */
export async function loadCatalogue() {
  /** @type {import('./api.js').Answer<Schemas['FactCatalogue']>} */
  const r = await api('/rules/facts')
  if (!r.ok) return
  facts = new Map(r.data.facts.map((f) => [f.name, f]))
  words = new Map(r.data.operators.map((o) => [o.name, o.words]))
}

/** @param {string} operator */
const operatorWords = (operator) => words.get(operator) ?? operator

/**
 * A fact's value in words: amounts with two decimals, other numbers grouped, the rest as JSON.
 * @param {string} fact
 * @param {unknown} v
 */
export function value(fact, v) {
  if (v === null || v === undefined) return 'none'
  if (typeof v === 'number') return facts.get(fact)?.kind === 'amount' ? amount(v) : count(v)
  if (typeof v === 'string') return `“${v}”`
  return JSON.stringify(v)
}

/** @param {string} fact @param {string | null | undefined} [path] */
const factName = (fact, path) => `${fact.replaceAll('_', ' ')}${path ? ` ${path}` : ''}`

/**
 * The trace in words: each rule, fired or not, and each condition with its values.
 * @param {TraceRule[]} trace
 */
export function traceWords(trace) {
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
              `; the rule asks whether it ${operatorWords(c.operator)} `,
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

/**
 * A json-rules-engine condition tree in words.
 * @param {any} c
 * @returns {string}
 */
export function conditionWords(c) {
  if (!c || typeof c !== 'object') return String(c)
  if (Array.isArray(c.all)) return c.all.map((/** @type {unknown} */ x) => group(x, 'any')).join(' and ')
  if (Array.isArray(c.any)) return c.any.map((/** @type {unknown} */ x) => group(x, 'all')).join(' or ')
  if (c.not) return `not (${conditionWords(c.not)})`
  if (c.condition) return `condition “${c.condition}”`
  const other = c.value && typeof c.value === 'object' && !Array.isArray(c.value) && 'fact' in c.value
  return `${factName(c.fact, c.path)} ${operatorWords(c.operator)} ${other ? factName(c.value.fact, c.value.path) : value(c.fact, c.value)}`
}
/** @param {any} c @param {'all' | 'any'} nested */
const group = (c, nested) => (c && Array.isArray(c[nested]) && c[nested].length > 1 ? `(${conditionWords(c)})` : conditionWords(c))

/**
 * Where each fact of a decision came from and how old it is, in words.
 * @param {RiskDecision} d
 * @returns {Record<Fact['source'], string>}
 */
function sourcesOf(d) {
  const contact = d.contact
    ? `Zoho contact (${d.contact.source}, fetched ${when(d.contact.fetched_at)}, ${age(d.contact.age_seconds)})`
    : '—'
  return {
    contact,
    organization: 'the organization in Zoho',
    receivables: d.receivables
      ? `Zoho open invoices and sales orders (read ${when(d.receivables.as_of)}, ${age(d.receivables.age_seconds)})`
      : 'not read: no rule uses them',
    payments: d.payments
      ? `Zoho paid invoices of 12 months (read ${when(d.payments.as_of)}, ${age(d.payments.age_seconds)})`
      : 'not read: no rule uses them',
    reservations: 'creditgate’s live reservations',
    order: 'this request',
    computed: 'worked out from the above',
  }
}

/**
 * The decision's facts, each with its value and where it came from.
 * @param {RiskDecision} d
 */
export function factsTable(d) {
  if (!d.facts) return h('p', { class: 'note' }, 'No contact data was available.')
  const from = sourcesOf(d)
  /** @type {[string, string, string][]} */
  const rows = Object.entries(d.facts)
    .filter(([fact]) => fact !== 'custom_fields')
    .map(([fact, v]) => [fact, value(fact, v), from[facts.get(fact)?.source ?? 'contact']])
  for (const [name, v] of Object.entries(d.facts.custom_fields)) rows.push([`custom_fields.${name}`, value(name, v), from.contact])
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
      rows.map(([fact, v, source]) =>
        h('tr', {}, h('th', { scope: 'row' }, h('code', {}, fact)), h('td', {}, zoho(v)), h('td', {}, source)),
      ),
    ),
  )
}
