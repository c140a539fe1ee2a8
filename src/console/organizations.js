// @ts-check
// The organization picker: which organization every view shows, or all that the caller may see.
// It is kept in the address (#view/argument?org=ID), so links and reloads keep it, and every view
// passes it to the API as organization_id. The list is GET /rules → organizations: every
// organization the service may ask Zoho about (every key and person sees them all).
import { $, h } from './lib.js'

/** @typedef {import('./api.js').Schemas['RuleSetStatus']['organizations'][number]} Organization */

/** @type {Organization[]} */
let known = []

const ZOHO_ID = /^[1-9]\d{0,18}$/

/** The organizations to pick from, in the order the service lists them. */
export const organizations = () => known

/**
 * The view, its argument and the organization in an address such as
 * #customer/460000000026049?org=10234696. Whatever the address holds, this returns: an argument
 * that does not decode is null, an organization that is not an id is none (all).
 * @param {string} hash
 * @returns {{ view: string, arg: string | null | undefined, org: string | null }}
 */
export function parseHash(hash) {
  const text = hash.replace(/^#/, '')
  const at = text.indexOf('?')
  const [view = 'overview', ...rest] = (at < 0 ? text : text.slice(0, at)).split('/')
  const org = new URLSearchParams(at < 0 ? '' : text.slice(at + 1)).get('org')
  const raw = rest.join('/')
  /** @type {string | null | undefined} */
  let arg
  try {
    arg = raw ? decodeURIComponent(raw) : undefined
  } catch {
    arg = null
  }
  return { view, arg, org: org !== null && ZOHO_ID.test(org) ? org : null }
}

/** The organization picked in the address, if the service knows it; null: all of them. */
export function picked() {
  const { org } = parseHash(location.hash)
  return known.some((o) => o.organization_id === org) ? org : null
}

/**
 * An address in the console that keeps the organization picked: `#customer/460000000031015`
 * becomes `#customer/460000000031015?org=10234696`.
 * @param {string} hash
 * @param {string | null} [org]
 */
export function linkTo(hash, org = picked()) {
  return org ? `${hash}?org=${org}` : hash
}

/**
 * The query of a request about the organization picked (organization_id), with `params`.
 * @param {Record<string, string>} [params]
 * @param {string | null} [org]
 */
export function query(params = {}, org = picked()) {
  const q = new URLSearchParams(params)
  if (org) q.set('organization_id', org)
  return q
}

/** @param {string} id */
export const organization = (id) => known.find((o) => o.organization_id === id)

/** "Northwind Gulf (10234696, AED)". @param {string} id */
export function label(id) {
  const o = organization(id)
  const base = o?.base_currency ? `, ${o.base_currency}` : ''
  return o?.name ? `${o.name} (${id}${base})` : `${id}${base ? ` (${base.slice(2)})` : ''}`
}

/**
 * The organizations to pick from: the picker in the header, and the customer form's own choice
 * (a contact is in one organization: with "all", the form says which).
 * @param {Organization[]} list
 */
export function setOrganizations(list) {
  known = list
  const picker = $('organization')
  picker.replaceChildren(
    h('option', { value: '' }, 'All organizations'),
    ...list.map((o) => h('option', { value: o.organization_id }, label(o.organization_id))),
  )
  const first = list.find((o) => o.default) ?? list[0]
  $('customer-org').replaceChildren(
    ...list.map((o) => h('option', { value: o.organization_id, selected: o === first }, label(o.organization_id))),
  )
  $('organization-field').hidden = list.length < 2
}

/** The picker and the customer form follow the address. */
export function showPicked() {
  const org = picked()
  $('organization').value = org ?? ''
  if (org) $('customer-org').value = org
  $('customer-org').disabled = Boolean(org)
}

/** Picking an organization keeps the view (and its argument) and changes the address. */
export function onPick() {
  const { view, arg } = parseHash(location.hash)
  const org = $('organization').value || null
  location.hash = linkTo(`#${view || 'overview'}${arg ? `/${encodeURIComponent(arg)}` : ''}`, org)
}
