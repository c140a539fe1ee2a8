// @ts-check
// The one way the console calls the public API: with the admin key the person typed, or as the
// person signed in through the identity provider (the session cookie, and the session's CSRF token
// on calls that change something). Answers are typed by the generated client's schemas
// (src/client/schema.ts, from openapi/openapi.json): an API change the console does not follow
// fails `npm run typecheck`.
import { h } from './lib.js'

/**
 * The API's schemas, by name (components.schemas of openapi/openapi.json).
 * @typedef {import('../client/schema.js').components['schemas']} Schemas
 * @typedef {Schemas['Me']} Me
 * @typedef {Schemas['DecisionRecord']} DecisionRecord
 * @typedef {{ key: string | null, me: Me | null }} Credentials
 */
/**
 * An answer: `ok` with the route's body, or not with a problem (or text). `missing`: the route is
 * not on this server (an older creditgate), which the views say instead of failing.
 * @template [T=any]
 * @typedef {{ ok: true, status: number, data: T, missing?: false } | { ok: false, status: number, data: any, missing?: boolean }} Answer
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
 * One call of the public API.
 * @template [T=any]
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [options]
 * @returns {Promise<Answer<T>>}
 */
export async function api(path, { method = 'GET', body } = {}) {
  const { key, me } = credentials()
  /** @type {Record<string, string>} */
  const headers = me ? {} : { authorization: `Bearer ${key}` }
  if (me?.csrf_token && method !== 'GET') headers['x-csrf-token'] = me.csrf_token
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (err) {
    return { ok: false, status: 0, data: { detail: `creditgate did not answer: ${/** @type {Error} */ (err).message}` } }
  }
  const type = res.headers.get('content-type') ?? ''
  const data = type.includes('json') ? await res.json() : await res.text()
  if (res.status === 401) refused(me ? 'The session has ended: sign in again.' : 'The key was refused: sign in again.')
  if (res.ok) return { ok: true, status: res.status, data }
  const missing = res.status === 404 && data?.code === 'not_found' && /^no route/.test(data.detail ?? '')
  return { ok: false, status: res.status, data, missing }
}

/** @param {Answer} r */
export const problemText = (r) =>
  r.missing ? 'Not available on this server.' : `${r.status || ''} ${r.data?.detail ?? r.data?.title ?? 'failed'}`.trim()
/** @param {string} what */
export const notAvailable = (what) => h('p', { class: 'note', 'data-missing': '' }, `${what} is not available on this server.`)

/** Pages of the decision history read for the overview (newest first). */
const HISTORY_PAGE = 100

/**
 * Recorded decisions, newest first, following the cursor up to `pages` pages.
 * @param {Record<string, string>} query
 * @param {number} pages
 * @returns {Promise<{ ok: true, records: DecisionRecord[], complete: boolean } | (Answer & { ok: false, records: DecisionRecord[] })>}
 */
export async function history(query, pages) {
  /** @type {DecisionRecord[]} */
  const records = []
  let cursor = null
  for (let page = 0; page < pages; page++) {
    const params = new URLSearchParams({ ...query, limit: String(HISTORY_PAGE) })
    if (cursor) params.set('cursor', cursor)
    /** @type {Answer<Schemas['DecisionPage']>} */
    const r = await api(`/decisions?${params}`)
    if (!r.ok) return { ...r, records }
    records.push(...r.data.decisions)
    cursor = r.data.next_cursor
    if (!cursor || r.data.decisions.length === 0) return { ok: true, records, complete: true }
  }
  return { ok: true, records, complete: false }
}

/** When a decision was made (ms). @param {DecisionRecord} r */
export const recordedAt = (r) => Date.parse(r.evaluated_at)
/** The codes of its reasons and alerts. @param {DecisionRecord} r */
export const codesOf = (r) => [...r.reasons, ...r.alerts].map((m) => m.code)
