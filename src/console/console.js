// @ts-check
// creditgate credit console: a page for operations and finance staff. Every figure comes from the
// public API, asked with the admin key the person types (kept in sessionStorage: this tab only), or
// as the person signed in through the identity provider (a server-side session behind an HttpOnly
// cookie the page never sees; calls that change something carry the session's CSRF token).
// No framework, no build step: ES modules, type-checked against the generated API client by
// `npm run typecheck`. This one signs in and out and routes the address to a view:
// #overview, #cases, #portfolio, #customer[/id], #rules, each with ?org=ID when one organization
// is picked. Text from the API is always set as text, never as HTML.
import { api, configureApi, problemText } from './api.js'
import './backtest.js'
import { casesView } from './cases.js'
import { customer, forgetCustomer } from './customer.js'
import { loadCatalogue } from './facts.js'
import { $ } from './lib.js'
import { onPick, parseHash, setOrganizations, showPicked } from './organizations.js'
import { overview } from './overview.js'
import { portfolioView } from './portfolio.js'
import { rulesView } from './rules.js'

/**
 * @typedef {import('./api.js').Schemas} Schemas
 */
/**
 * @template [T=any]
 * @typedef {import('./api.js').Answer<T>} Answer
 */

const KEY_STORE = 'creditgate.console.key'
const VIEWS = { overview, cases: casesView, portfolio: portfolioView, rules: rulesView }

let key = sessionStorage.getItem(KEY_STORE)
/** Signed in through the identity provider: who (GET /auth/me), with the CSRF token; null with a key. */
let me = /** @type {Schemas['Me'] | null} */ (null)
configureApi(
  () => ({ key, me }),
  (message) => signOut(message),
)

/** Sign-in: the key is checked on a staff route before any view shows. @param {string | null} candidate */
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
  if (!me && candidate) sessionStorage.setItem(KEY_STORE, candidate)
  /** @type {[Answer<Schemas['RuleSetStatus']>, void]} */
  const [rules] = await Promise.all([api('/rules'), loadCatalogue()])
  setOrganizations(rules.ok ? rules.data.organizations : [])
  $('nav').hidden = false
  $('sign-out').hidden = false
  $('sign-out').textContent = me ? 'Sign out' : 'Forget the key'
  $('who').textContent = me ? `${me.name} (${me.roles.join(', ')})` : ''
  // What the role may not do is not offered: backtests are for admins.
  $('candidate-backtest').hidden = Boolean(me) && !me?.roles.includes('admin')
  route()
}

/** Signed in through the identity provider (a session cookie): who, and the CSRF token. */
async function signInWithSession() {
  const res = await fetch('/auth/me').catch(() => null)
  /** @type {Schemas['Me'] | null} */
  const data = res?.ok ? await res.json() : null
  if (data?.via !== 'oidc') return false
  me = data
  await signIn(null)
  return true
}

async function endSession() {
  const res = await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': me?.csrf_token ?? '' } })
  /** @type {Partial<Schemas['SignedOut']>} */
  const data = res.ok ? await res.json() : {}
  me = null
  signOut('Signed out.')
  if (data.end_session_url) window.location.assign(data.end_session_url)
}

/** The views (and the sign-in form). */
const sections = () => /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('main > section'))

function signOut(message = '') {
  key = null
  me = null
  $('who').textContent = ''
  sessionStorage.removeItem(KEY_STORE)
  $('nav').hidden = true
  $('sign-out').hidden = true
  $('organization-field').hidden = true
  for (const view of sections()) view.hidden = view.id !== 'view-login'
  $('login-error').textContent = message
  $('login-key').value = ''
  $('login-key').focus()
}

/** The view the address names, for the organization it names. */
function route() {
  if (!key && !me) return signOut()
  const { view, arg } = parseHash(location.hash)
  const name = Object.hasOwn(VIEWS, view) || view === 'customer' ? view : 'overview'
  showPicked()
  for (const section of sections()) section.hidden = section.id !== `view-${name}`
  for (const link of document.querySelectorAll('nav a')) {
    const a = /** @type {HTMLAnchorElement} */ (link)
    a.href = `#${a.dataset.view}${location.hash.includes('?') ? location.hash.slice(location.hash.indexOf('?')) : ''}`
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  if (name === 'customer') {
    if (arg === null) forgetCustomer()
    else if (arg) {
      $('customer-id').value = arg
      void customer(arg)
    }
    $('customer-id').focus()
  } else void VIEWS[/** @type {keyof typeof VIEWS} */ (name)]()
}
window.addEventListener('hashchange', route)
$('organization').addEventListener('change', onPick)

$('login-form').addEventListener('submit', (/** @type {Event} */ event) => {
  event.preventDefault()
  void signIn($('login-key').value.trim())
})
$('sign-out').addEventListener('click', () => (me ? void endSession() : signOut('The key is forgotten.')))
// The provider's sign-in, where this server offers it (a session may already be open).
/** @type {Promise<Partial<Schemas['SignInOptions']>>} */
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
