import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import t, { type Test } from 'tap'
import { type Env, loadConfig } from '../../src/config.js'
import { actorFromClaims, claimAt } from '../../src/domain/actor.js'
import { eventually, metricValue, problem, sandboxEnv, startApp, startSandbox } from '../helpers/app.js'
import { AUDIENCE, startIdp } from '../helpers/idp.js'

const SHOP_KEY = 'shop-key-0123456789abcdef'
const OPS_KEY = 'ops-key-0123456789abcdef'
const KEYS = { API_KEYS: `shop:${SHOP_KEY}`, ADMIN_API_KEYS: `ops:${OPS_KEY}` }
const CONTACT = '460000000031001'

async function setUp(t: Test, env: Env = {}) {
  const idp = await startIdp(t)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ...KEYS, ...idp.env, ...env } })
  // Start-up never waits for the provider: the keys arrive in the background.
  await eventually(async () => (await app.inject({ url: '/readyz' })).body.includes('signing key'), 'the provider keys')
  return { idp, sandbox, app }
}
type App = Awaited<ReturnType<typeof setUp>>['app']

/** Refused tokens are throttled per address (10 a minute): each call comes from an address of its own. */
let address = 0
const call = (app: App, token: string | undefined, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    remoteAddress: `10.9.${address >> 8}.${address++ & 255}`,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(payload ? { payload } : {}),
  })

t.test('each role against each route family, with tokens minted by the provider', async (t) => {
  const { idp, app } = await setUp(t)
  const tokens = {
    caller: await idp.token('svc-caller'),
    viewer: await idp.token('svc-viewer'),
    approver: await idp.token('svc-approver'),
    admin: await idp.token('svc-admin'),
    nobody: await idp.token('svc-nobody'),
  }
  const made = await call(app, tokens.caller, 'GET', `/contacts/${CONTACT}/risk`)
  t.equal(made.statusCode, 200, 'a caller token decides')
  const decisionId = made.json().decision_id as string
  const routes: [string, 'GET' | 'POST' | 'DELETE', string, unknown, Record<keyof typeof tokens, number>][] = [
    ['a look-up', 'GET', `/contacts/${CONTACT}/risk`, undefined, { caller: 200, viewer: 200, approver: 200, admin: 200, nobody: 403 }],
    [
      'decisions for orders',
      'POST',
      `/contacts/${CONTACT}/risk`,
      { order: { amount: 10 } },
      { caller: 200, viewer: 403, approver: 403, admin: 200, nobody: 403 },
    ],
    [
      'console: receivables',
      'GET',
      `/contacts/${CONTACT}/receivables`,
      undefined,
      { caller: 403, viewer: 200, approver: 200, admin: 200, nobody: 403 },
    ],
    ['rules: dry run', 'POST', '/risk/evaluate', { contact: {} }, { caller: 403, viewer: 200, approver: 200, admin: 200, nobody: 403 }],
    [
      'a decision by id',
      'GET',
      `/decisions/${decisionId}`,
      undefined,
      { caller: 200, viewer: 200, approver: 200, admin: 200, nobody: 403 },
    ],
    [
      'console: decision list',
      'GET',
      '/decisions?limit=5',
      undefined,
      { caller: 403, viewer: 200, approver: 200, admin: 200, nobody: 403 },
    ],
    ['console: Zoho budget', 'GET', '/zoho/budget', undefined, { caller: 403, viewer: 200, approver: 200, admin: 200, nobody: 403 }],
    ['rules: read', 'GET', '/rules', undefined, { caller: 200, viewer: 200, approver: 200, admin: 200, nobody: 403 }],
    ['rules: reload', 'POST', '/rules/reload', undefined, { caller: 403, viewer: 403, approver: 403, admin: 200, nobody: 403 }],
    [
      'admin: cache purge',
      'DELETE',
      `/contacts/${CONTACT}/cache`,
      undefined,
      { caller: 403, viewer: 403, approver: 403, admin: 200, nobody: 403 },
    ],
  ]
  for (const [family, method, url, payload, expected] of routes) {
    for (const [role, token] of Object.entries(tokens) as [keyof typeof tokens, string][]) {
      const res = await call(app, token, method, url, payload)
      t.equal(res.statusCode, expected[role], `${family}: ${role} → ${expected[role]}`)
      if (res.statusCode === 403) t.match(res.json().detail, /may not use this route: it is for/)
    }
    problem(t, await call(app, undefined, method, url, payload), 401, 'unauthorized')
  }
  // The decision is recorded under the token's subject, never under a key's name.
  const record = (await call(app, tokens.admin, 'GET', `/decisions/${decisionId}`)).json()
  t.equal(record.caller, 'oidc:svc-caller')
  // API keys keep working unchanged beside the provider.
  t.equal((await call(app, SHOP_KEY, 'GET', `/contacts/${CONTACT}/risk`)).statusCode, 200, 'caller key decides')
  t.equal((await call(app, SHOP_KEY, 'GET', `/decisions/${decisionId}`)).statusCode, 404, "a caller key does not read a token's decision")
  t.match(problem(t, await call(app, SHOP_KEY, 'GET', '/decisions'), 403, 'forbidden').detail, /the key "shop" may not use admin endpoints/)
  t.equal((await call(app, OPS_KEY, 'GET', '/decisions')).statusCode, 200, 'admin key reads the list')
  t.equal((await call(app, OPS_KEY, 'DELETE', `/contacts/${CONTACT}/cache`)).statusCode, 200, 'admin key purges')
  problem(t, await call(app, 'not.a.token', 'GET', '/rules'), 401, 'unauthorized')
})

t.test('hostile tokens: each a 401 problem+json, never a 500 and never a stall', async (t) => {
  const { idp, app } = await setUp(t)
  const now = Math.floor(Date.now() / 1000)
  const hs256 = await new SignJWT({ roles: ['credit-admin'], sub: 'mallory' })
    .setProtectedHeader({ alg: 'HS256', kid: idp.kid })
    .setIssuer(idp.issuer)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JSON.stringify(idp.publicJwk)))
  const none = new UnsecuredJWT({ roles: ['credit-admin'], sub: 'mallory' })
    .setIssuer(idp.issuer)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .encode()
  const other = await generateKeyPair('RS256')
  const secondProvider = await new SignJWT({ roles: ['credit-admin'], sub: 'mallory' })
    .setProtectedHeader({ alg: 'RS256', kid: idp.kid })
    .setIssuer(idp.issuer)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .sign(other.privateKey)
  const admin = { roles: ['credit-admin'] }
  const cases: [string, string, RegExp][] = [
    ['alg none', none, /algorithm/],
    ['HS256 signed with the public key', hs256, /algorithm/],
    ['expired', await idp.sign({ ...admin, exp: now - 31 }), /expired/],
    ['not yet valid', await idp.sign({ ...admin, nbf: now + 120 }), /nbf/],
    ['wrong issuer', await idp.sign({ ...admin, iss: 'https://evil.example' }), /iss/],
    ['wrong audience', await idp.sign({ ...admin, aud: 'https://another.example/api' }), /aud/],
    ['no audience', await idp.sign({ ...admin, aud: undefined }), /aud/],
    ['no subject', await idp.sign({ ...admin, sub: undefined }), /sub/],
    ['roles claim not a list', await idp.sign({ roles: 'credit-admin' }), /roles claim must be a list/],
    ['a second provider with the same kid', secondProvider, /signature/],
    ['64 KB', await idp.sign({ ...admin, padding: 'x'.repeat(64 * 1024) }), /longer than 8192 bytes/],
    ['garbage in JWT shape', 'aaaa.bbbb.cccc', /not a valid signed JWT/],
  ]
  for (const [name, token, detail] of cases) {
    const res = await call(app, token, 'GET', '/rules')
    t.match(problem(t, res, 401, 'unauthorized').detail, detail, name)
  }
  // Within the clock tolerance (30 s), an expired token still passes: clocks differ.
  t.equal((await call(app, await idp.sign({ ...admin, exp: now - 10 }), 'GET', '/rules')).statusCode, 200, 'expired 10 s ago: tolerated')

  // A flood of unknown kids: one JWKS fetch at most, and every answer a 401.
  const before = idp.jwksFetches
  const flood = await Promise.all(
    Array.from({ length: 1000 }, async (_, i) => {
      const token = await idp.sign(admin, { kid: `unknown-${i}` })
      return (await call(app, token, 'GET', '/rules')).statusCode
    }),
  )
  t.same([...new Set(flood)], [401], 'every one refused: 401')
  t.ok(idp.jwksFetches - before <= 1, `${idp.jwksFetches - before} JWKS fetch for 1,000 unknown kids`)
  t.equal(await metricValue(app, 'creditgate_oidc_fetches_total{document="jwks",outcome="ok"}'), 1 + idp.jwksFetches - before)
})

t.test('the provider down: held keys keep verifying; unknown keys and first loads fail clearly', async (t) => {
  const { idp, app } = await setUp(t)
  const token = await idp.token('svc-admin')
  await idp.stop()
  t.equal((await call(app, token, 'GET', '/decisions')).statusCode, 200, 'a token whose key is held works while the provider is down')
  problem(t, await call(app, await idp.sign({ roles: ['credit-admin'] }, { kid: 'rotated' }), 'GET', '/rules'), 401, 'unauthorized')
  t.equal((await call(app, OPS_KEY, 'GET', '/decisions')).statusCode, 200, 'API keys are untouched')
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'ready: the provider is not a dependency of decisions')

  // A service started while the provider is down: tokens are refused (401), keys work, /readyz says why.
  const sandbox = await startSandbox(t)
  const { app: late } = await startApp(t, sandbox, { env: { ...KEYS, ...idp.env } })
  const refused = problem(t, await call(late, token, 'GET', '/rules'), 401, 'unauthorized')
  t.match(refused.detail, /keys could not be loaded/)
  const ready = await late.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(ready.body, /not loaded yet/)
  t.equal((await call(late, SHOP_KEY, 'GET', '/rules')).statusCode, 200)
})

t.test('roles claim: dotted paths, namespaced names, role map or our own names', async (t) => {
  const map = new Map([['credit-admin', 'admin' as const]])
  const claims = {
    sub: 'u1',
    email: 'u1@example.com',
    realm_access: { roles: ['credit-admin', 'other'] },
    'https://example.com/roles': ['viewer'],
  }
  t.same(actorFromClaims(claims, 'realm_access.roles', map), { sub: 'u1', name: 'u1@example.com', roles: ['admin'], via: 'oidc' })
  t.same(actorFromClaims(claims, 'https://example.com/roles', new Map()).roles, ['viewer'], 'a claim name with dots is read whole')
  t.same(actorFromClaims({ sub: 'u2' }, 'roles', map), { sub: 'u2', name: 'u2', roles: [], via: 'oidc' }, 'no roles claim: no role')
  t.same(actorFromClaims({ sub: 'u3', roles: ['approver', 'caller', 'approver'] }, 'roles', new Map()).roles, ['caller', 'approver'])
  t.equal(claimAt({ a: { b: 1 } }, 'a.c'), undefined)
  t.equal(claimAt({ a: 5 }, 'a.b'), undefined)
  t.throws(() => actorFromClaims({ sub: 'x'.repeat(256) }, 'roles', map), /sub claim/)
  t.throws(
    () => actorFromClaims({ sub: 'u', realm_access: { roles: [1] } }, 'realm_access.roles', map),
    /realm_access.roles claim must be a list/,
  )
})

t.test('configuration: wrong OIDC settings stop start-up with one line naming the variable', async (t) => {
  const base = { ZOHO_MODE: 'sandbox' }
  const wrong: [Env, RegExp][] = [
    [{ OIDC_ISSUER: 'https://idp.example' }, /OIDC_AUDIENCE is required with OIDC_ISSUER/],
    [{ OIDC_ISSUER: 'ftp://idp.example', OIDC_AUDIENCE: 'a' }, /^invalid configuration: OIDC_ISSUER must be/],
    [{ OIDC_AUDIENCE: 'a' }, /OIDC_AUDIENCE is set but OIDC_ISSUER is not/],
    [{ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'a', OIDC_ROLE_MAP: 'credit-admin:root' }, /OIDC_ROLE_MAP entry 1 must be/],
    [{ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'a', OIDC_ROLE_MAP: ':admin' }, /OIDC_ROLE_MAP entry 1 must be/],
    [{ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'a', OIDC_ROLE_MAP: ',' }, /OIDC_ROLE_MAP is set but maps no role/],
    [
      { OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'a', OIDC_CLIENT_SECRET: 's' },
      /OIDC_CLIENT_SECRET is set but OIDC_CLIENT_ID is not/,
    ],
    [
      { OIDC_ISSUER: 'http://idp.example', OIDC_AUDIENCE: 'a', NODE_ENV: 'production', API_KEYS: `shop:${SHOP_KEY}` },
      /OIDC_ISSUER must be an https URL/,
    ],
    [{ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'a', OIDC_ROLES_CLAIM: 'has space' }, /OIDC_ROLES_CLAIM must be/],
  ]
  for (const [env, message] of wrong) t.throws(() => loadConfig({ ...base, ...env }), message, JSON.stringify(env))
  const config = loadConfig({
    ...base,
    OIDC_ISSUER: 'https://idp.example/realms/x',
    OIDC_AUDIENCE: 'creditgate',
    OIDC_ROLE_MAP: 'zoho:org:admin:admin, credit-viewer:viewer',
  })
  t.same(
    [...(config.oidc?.roleMap ?? [])],
    [
      ['zoho:org:admin', 'admin'],
      ['credit-viewer', 'viewer'],
    ],
  )
  t.equal(config.oidc?.rolesClaim, 'roles')
  t.equal(loadConfig(sandboxEnv({ creditgateEnv: {} } as never)).oidc, undefined, 'unset: API keys only')
})
