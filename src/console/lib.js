// @ts-check
// The console's small helpers, shared by its views: elements, numbers and dates in words, the
// accessible table behind a chart. Text from the API is always set as text, never as HTML; the one
// way to call the API is api.js.

/**
 * An element with attributes and children (strings become text nodes).
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (name === 'class') el.className = String(value)
    else if (name.startsWith('on')) el.addEventListener(name.slice(2), /** @type {EventListener} */ (value))
    else el.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) el.append(/** @type {Node | string} */ (child))
  }
  return el
}
/** @param {string} id @returns {any} */
export const $ = (id) => document.getElementById(id)
/** @param {string} id @param {...(Node | string)} children */
export const show = (id, ...children) => $(id).replaceChildren(...children)

const amountFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const countFormat = new Intl.NumberFormat('en-US')
/** Amounts as the decision messages show them: 62,400.00. @param {unknown} n */
export const amount = (n) => (typeof n === 'number' ? amountFormat.format(n) : '—')
/** @param {number} n */
export const count = (n) => countFormat.format(n)
/** @param {string | null | undefined} iso */
export const when = (iso) => (iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' }) : '—')
/** @param {number} seconds */
export const age = (seconds) =>
  seconds < 120 ? `${seconds} s old` : seconds < 7200 ? `${Math.round(seconds / 60)} min old` : `${Math.round(seconds / 3600)} h old`
/** How long ago, in words: 45 s, 12 min, 3 h, 2 d. @param {number} ms */
export const ago = (ms) => {
  const s = Math.max(0, Math.round(ms / 1000))
  return s < 120
    ? `${s} s`
    : s < 7200
      ? `${Math.round(s / 60)} min`
      : s < 172_800
        ? `${Math.round(s / 3600)} h`
        : `${Math.round(s / 86_400)} d`
}
/** @param {string} decision */
export const badge = (decision) => h('span', { class: `badge ${decision}` }, decision)
/**
 * Text that comes from Zoho (names, custom fields, messages quoting them), isolated from what is
 * around it: a right-to-left override in a contact's name must not reorder the id beside it.
 * @param {string} text
 */
export const zoho = (text) => h('bdi', {}, text)
/** @param {string} text */
export const announce = (text) => {
  $('announce').textContent = text
}

/**
 * A table of the numbers behind a chart (the accessible twin of the picture).
 * @param {string} caption
 * @param {string[]} head
 * @param {string[][]} rows
 */
export function dataTable(caption, head, rows) {
  return h(
    'table',
    {},
    h('caption', { class: 'visually-hidden' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : undefined }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          r.map((c, i) => (i ? h('td', { class: 'num' }, c) : h('th', { scope: 'row' }, c))),
        ),
      ),
    ),
  )
}
