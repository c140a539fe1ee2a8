import { hash } from 'node:crypto'
import t from 'tap'
import { createLocalSessions } from '../../src/adapters/local/sessions.js'
import { algorithmsOf, createProvider, JWKS_COOLDOWN_MS } from '../../src/adapters/oidc/provider.js'
import { newSecret } from '../../src/services/sessions.js'
import { eventually, problem, startApp, startSandbox } from '../helpers/app.js'
import { AUDIENCE, CLIENT_SECRET, CONSOLE_CLIENT, startIdp } from '../helpers/idp.js'
import { startRedis } from '../helpers/redis.js'

const OPS_KEY = 'ops-key-0123456789abcdef'
const ALICE = { sub: 'alice', name: 'Alice Approver', roles: ['approver' as const], via: 'oidc' as const }

t.test('sessions in Redis: shared by the instances, stored under a digest, ended everywhere; memory while Redis is down', async (t) => {
  const idp = await startIdp(t)
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const env = {
    API_KEYS: 'shop:shop-key-0123456789abcdef',
    ADMIN_API_KEYS: `ops:${OPS_KEY}`,
    ...idp.env,
    OIDC_CLIENT_ID: CONSOLE_CLIENT,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    REDIS_URL: redis.url,
  }
  const a = await startApp(t, sandbox, { env })
  const b = await startApp(t, sandbox, { env })
  const { id, session } = await (a.app.sessions as NonNullable<typeof a.app.sessions>).open(ALICE, Date.now() + 60_000)
  const cookie = `creditgate_session=${id}`
  const me = await b.app.inject({ url: '/auth/me', headers: { cookie } })
  t.same(me.json(), { ...ALICE, csrf_token: session.csrf }, 'another instance knows the session')
  await redis.client.connect()
  const keys = await redis.client.keys('creditgate:v1:auth:*')
  t.same(keys, [`creditgate:v1:auth:session:${hash('sha256', id, 'base64url')}`], 'stored under the digest of the id, never the id')
  const ttl = await redis.client.ttl(keys[0] as string)
  t.ok(ttl > 0 && ttl <= 60, `expires with the token (${ttl} s)`)
  problem(t, await b.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie } }), 403, 'forbidden')
  const out = await b.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, 'x-csrf-token': session.csrf } })
  t.equal(out.statusCode, 200)
  t.match(String(out.headers['set-cookie']), /^creditgate_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/)
  problem(t, await a.app.inject({ url: '/auth/me', headers: { cookie } }), 401, 'unauthorized')
  t.same(await redis.client.keys('creditgate:v1:auth:*'), [])

  // Redis down: a session opens and works in this instance's memory, never a 5xx.
  await redis.kill()
  const down = await (a.app.sessions as NonNullable<typeof a.app.sessions>).open(ALICE, Date.now() + 60_000)
  await eventually(
    async () => (await a.app.inject({ url: '/auth/me', headers: { cookie: `creditgate_session=${down.id}` } })).statusCode === 200,
    'the session from memory',
  )
  t.equal(
    (
      await a.app.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: { cookie: `creditgate_session=${down.id}`, 'x-csrf-token': down.session.csrf },
      })
    ).statusCode,
    200,
  )
  problem(t, await a.app.inject({ url: '/auth/me', headers: { cookie: `creditgate_session=${down.id}` } }), 401, 'unauthorized')
  problem(t, await a.app.inject({ url: '/auth/me', headers: { cookie: 'creditgate_session=not-a-session-id' } }), 401, 'unauthorized')
})

t.test('memory sessions: bounded, and expired entries are gone', async (t) => {
  let now = 0
  const store = createLocalSessions(2, () => now)
  await store.set('a', '1', 10)
  await store.set('b', '2', 10)
  await store.set('c', '3', 10)
  t.equal(await store.get('a'), undefined, 'the oldest write goes first')
  t.equal(await store.get('c'), '3')
  now = 10_000
  t.equal(await store.get('c'), undefined, 'expired')
})

t.test('sign-ins under way, however many, never push a signed-in person out (no Redis)', async (t) => {
  const idp = await startIdp(t)
  const sandbox = await startSandbox(t)
  const env = { ADMIN_API_KEYS: `ops:${OPS_KEY}`, ...idp.env, OIDC_CLIENT_ID: CONSOLE_CLIENT, OIDC_CLIENT_SECRET: CLIENT_SECRET }
  const { app } = await startApp(t, sandbox, { env })
  const sessions = app.sessions as NonNullable<typeof app.sessions>
  const { id } = await sessions.open(ALICE, Date.now() + 60_000)
  // More sign-ins than the session store holds, as anyone could start them (GET /auth/login needs no key).
  for (let i = 0; i < 10_001; i++) await sessions.begin(newSecret(), { verifier: newSecret(), returnTo: '/console' })
  const login = await app.inject({ url: '/auth/login' })
  t.equal(login.statusCode, 302, 'the route starts one more')
  t.same(
    (await app.inject({ url: '/auth/me', headers: { cookie: `creditgate_session=${id}` } })).json(),
    { ...ALICE, csrf_token: (await sessions.find(id))?.csrf },
    'the person is still signed in',
  )
})

t.test('algorithms: what each published key can verify, never a shared-secret one', async (t) => {
  t.same(algorithmsOf({ kty: 'RSA', alg: 'PS384' }), ['PS384'])
  t.same(algorithmsOf({ kty: 'RSA' }), ['RS256'])
  t.same(algorithmsOf({ kty: 'RSA', use: 'enc' }), [])
  t.same(algorithmsOf({ kty: 'oct', alg: 'HS256' }), [])
  t.same(algorithmsOf({ kty: 'oct' }), [])
  t.same(algorithmsOf({ kty: 'EC', crv: 'P-384' }), ['ES384'])
  t.same(algorithmsOf({ kty: 'EC', crv: 'secp256k1' }), [])
  t.same(algorithmsOf({ kty: 'OKP', crv: 'Ed25519' }), ['EdDSA', 'Ed25519'])
  t.same(algorithmsOf({ kty: 'OKP', crv: 'X25519' }), [])
})

t.test('the provider: a rotation is fetched once per cooldown; a failed fetch keeps the held keys', async (t) => {
  const idp = await startIdp(t)
  let now = 1_000_000
  const fetches: string[] = []
  const provider = createProvider({
    issuer: idp.issuer,
    audience: AUDIENCE,
    now: () => now,
    onFetch: (what, outcome) => fetches.push(`${what} ${outcome}`),
  })
  t.teardown(() => provider.stop())
  await provider.start()
  t.same(fetches, ['discovery ok', 'jwks ok'])
  const token = await idp.token('svc-admin')
  t.match(await provider.verify(token), { sub: 'svc-admin', roles: ['credit-admin'] })
  const rotated = await idp.sign({}, { kid: 'rotated' })
  await t.rejects(provider.verify(rotated), /does not publish/, 'within the cooldown: no fetch')
  t.equal(fetches.length, 2)
  now += JWKS_COOLDOWN_MS
  await t.rejects(provider.verify(rotated), /does not publish/, 'after it: one fetch, still unknown')
  t.same(fetches.slice(2), ['jwks ok'])
  await idp.stop()
  now += JWKS_COOLDOWN_MS
  await t.rejects(provider.verify(rotated), /does not publish/)
  t.same(fetches.slice(3), ['jwks error'], 'the provider down: the fetch fails')
  t.match(await provider.verify(token), { sub: 'svc-admin' }, 'the held keys still verify')
  t.equal(provider.keys?.kids, 1)

  // Never reached: no discovery, so no endpoints for a sign-in.
  const lost = createProvider({ issuer: idp.issuer, audience: AUDIENCE })
  await t.rejects(lost.endpoints(), /cannot be reached/)
  await t.rejects(lost.verify(token), /could not be loaded/)
  // A discovery document naming another issuer is refused (OpenID Connect Discovery 4.3).
  await idp.restart()
  const wrong = createProvider({ issuer: `${idp.issuer}/`, audience: AUDIENCE })
  await wrong.start()
  t.equal(wrong.keys, undefined)
  t.equal(wrong.discovery, undefined)
})
