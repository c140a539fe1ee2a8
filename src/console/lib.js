// @ts-check
// The console's small helpers, shared by its views (console.js, cases.js, portfolio.js): elements,
// numbers and dates in words, and the one way to call the public API. Text from the API is always
// set as text, never as HTML.

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
 * @typedef {{ name: string, roles: string[], csrf_token: string }} Me
 * @typedef {{ key: string | null, me: Me | null }} Credentials
 * @typedef {{ ok: boolean, status: number, data: any, missing?: boolean }} Answer
 */
/** @type {() => Credentials} */
let credentials = () => ({ key: null, me: null })
/** @type {(message: string) => void} */
let refused = () => {}

/**
 * Where the API's credentials come from (the admin key or the signed-in person, kept by
 * console.js), and what to do when they are refused (401: sign in again).
 * @param {() => Credentials} get
 * @param {(message: string) => void} onRefused
 */
export function configureApi(get, onRefused) {
  credentials = get
  refused = onRefused
}

/** The roles of whoever is signed in: an admin key is an admin. @returns {string[]} */
export function roles() {
  const { key, me } = credentials()
  return me ? me.roles : key ? ['admin'] : []
}

/**
 * One call of the public API with the admin key, or as the signed-in person (the session cookie,
 * and the session's CSRF token on calls that change something). `missing`: the route is not on
 * this server (an older creditgate), which the views say instead of failing.
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [options]
 * @returns {Promise<Answer>}
 */
export async function api(path, { method = 'GET', body } = {}) {
  const { key, me } = credentials()
  /** @type {Record<string, string>} */
  const headers = me ? {} : { authorization: `Bearer ${key}` }
  if (me && method !== 'GET') headers['x-csrf-token'] = me.csrf_token
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (err) {
    return { ok: false, status: 0, data: { detail: `creditgate did not answer: ${/** @type {Error} */ (err).message}` } }
  }
  const type = res.headers.get('content-type') ?? ''
  const data = type.includes('json') ? await res.json() : await res.text()
  const missing = res.status === 404 && data?.code === 'not_found' && /^no route/.test(data.detail ?? '')
  if (res.status === 401) refused(me ? 'The session has ended: sign in again.' : 'The key was refused: sign in again.')
  return { ok: res.ok, status: res.status, data, missing }
}
/** @param {Answer} r */
export const problemText = (r) =>
  r.missing ? 'Not available on this server.' : `${r.status || ''} ${r.data?.detail ?? r.data?.title ?? 'failed'}`.trim()
/** @param {string} what */
export const notAvailable = (what) => h('p', { class: 'note', 'data-missing': '' }, `${what} is not available on this server.`)

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
