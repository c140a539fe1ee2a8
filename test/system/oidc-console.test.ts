/// <reference lib="dom" />
import t, { type Test } from 'tap'
import { logCapture, problem, startApp, startSandbox } from '../helpers/app.js'
import { launchChromium, postFromPage, signInThroughProvider as signIn } from '../helpers/browser.js'
import { CLIENT_SECRET, CONSOLE_CLIENT, startIdp } from '../helpers/idp.js'

/**
 * The console's sign-in through the identity provider, in headless Chromium: the provider's own
 * login page, a server-side session behind an HttpOnly SameSite=Strict cookie, what each role is
 * offered and allowed, and a sign-out that ends the session on the server.
 */
const SHOP_KEY = 'shop-key-0123456789abcdef'
const OPS_KEY = 'ops-key-0123456789abcdef'

async function setUp(t: Test) {
  const idp = await startIdp(t)
  const sandbox = await startSandbox(t)
  const logs = logCapture()
  const { app } = await startApp(t, sandbox, {
    logs,
    env: {
      API_KEYS: `shop:${SHOP_KEY}`,
      ADMIN_API_KEYS: `ops:${OPS_KEY}`,
      ...idp.env,
      OIDC_CLIENT_ID: CONSOLE_CLIENT,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      LOG_LEVEL: 'info',
    },
  })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  return { idp, app, base, logs }
}

t.test('console sign-in through the provider: admin, viewer, forged calls, sign-out', async (t) => {
  const { idp, app, base, logs } = await setUp(t)
  const browser = await launchChromium(t)
  t.equal((await app.inject({ url: `/contacts/460000000031001/risk`, headers: { 'x-api-key': SHOP_KEY } })).statusCode, 200)

  await t.test('an admin signs in, runs a backtest, and the log names the person', async (t) => {
    const context = await browser.newContext()
    const page = await signIn(context, base, idp, 'ada')
    t.equal(await page.locator('#who').textContent(), 'Ada Admin (admin)')
    const cookies = await context.cookies()
    const session = cookies.find((c) => c.name === 'creditgate_session')
    t.ok(session, 'a session cookie')
    t.equal(session?.httpOnly, true, 'HttpOnly: no script reads it')
    t.equal(session?.sameSite, 'Strict', 'SameSite=Strict')
    t.notOk(
      cookies.some((c) => c.name === 'creditgate_login' && c.value),
      'the sign-in cookie is gone',
    )
    t.equal(await page.evaluate(() => document.cookie), '', 'the page sees no cookie')
    await page.goto(`${base}/console#rules`)
    await page.locator('#candidate-backtest').click()
    await page
      .locator('#backtest')
      .filter({ hasText: /evaluated|decisions/i })
      .waitFor()
    t.ok(
      logs.lines.some(
        (l) => l.msg === 'staff action' && (l.actor as { name: string }).name === 'Ada Admin' && l.route === '/rules/backtest',
      ),
      'the backtest is logged with the person',
    )
    // A call that changes something without the CSRF token: refused, whatever the role.
    const forged = await page.evaluate(() =>
      fetch('/rules/backtest', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status),
    )
    t.equal(forged, 403, 'no CSRF token: 403')
    const id = session?.value as string
    t.equal((await app.inject({ url: '/auth/me', headers: { cookie: `creditgate_session=${id}` } })).statusCode, 200)
    await page.locator('#sign-out').click()
    await page.waitForURL((url) => url.origin === idp.issuer || url.hash === '')
    problem(t, await app.inject({ url: '/auth/me', headers: { cookie: `creditgate_session=${id}` } }), 401, 'unauthorized')
    await context.close()
  })

  await t.test('a viewer is offered no backtest, and a forged one is 403', async (t) => {
    const context = await browser.newContext()
    const page = await signIn(context, base, idp, 'victor')
    t.equal(await page.locator('#who').textContent(), 'Victor Viewer (viewer)')
    await page.goto(`${base}/console#rules`)
    await page.locator('#candidate-validate').waitFor()
    t.ok(await page.locator('#candidate-backtest').isHidden(), 'no backtest button')
    const forged = await postFromPage(page, '/rules/backtest', {})
    t.equal(forged.status, 403)
    t.match(forged.detail, /Victor Viewer \(roles: viewer\) may not use this route/)
    await context.close()
  })
})

t.test('a person without a creditgate role is told so, and gets no session', async (t) => {
  const { idp, base } = await setUp(t)
  const browser = await launchChromium(t)
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${base}/auth/login`)
  await page.locator('input[name=login]').fill('nora')
  await page.locator('input[name=password]').fill('any password')
  await page.locator('button[type=submit]').click()
  await page.waitForURL((url) => url.origin === base || url.pathname.includes('interaction'))
  if (new URL(page.url()).origin !== base) await page.locator('button[type=submit]').click()
  await page.locator('h1', { hasText: 'Sign-in failed' }).waitFor()
  t.match(await page.locator('main').textContent(), /Nora Nobody is signed in but holds no creditgate role/)
  t.notOk(
    (await context.cookies()).some((c) => c.name === 'creditgate_session'),
    'no session',
  )
  t.ok(idp.issuer)
})

t.test('sign-in failures are pages a person reads', async (t) => {
  const { idp, app } = await setUp(t)
  t.same((await app.inject({ url: '/auth/config' })).json(), { sign_in_url: '/auth/login' })
  const forgedState = await app.inject({ url: '/auth/callback?code=x&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
  t.equal(forgedState.statusCode, 400)
  t.match(forgedState.body, /not started in this browser/)
  const refused = await app.inject({ url: '/auth/callback?error=access_denied&error_description=nope' })
  t.equal(refused.statusCode, 400)
  t.match(refused.body, /refused the sign-in: nope/)
  t.equal((await app.inject({ url: '/auth/login?return_to=https://evil.example' })).statusCode, 400, 'only the console is returned to')

  const login = await app.inject({ url: '/auth/login?return_to=/console%23rules' })
  t.equal(login.statusCode, 302)
  const to = new URL(login.headers.location as string)
  t.equal(to.origin, idp.issuer)
  t.equal(to.searchParams.get('code_challenge_method'), 'S256')
  t.match(String(login.headers['set-cookie']), /creditgate_login=[\w-]{43}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/)

  // Behind a TLS-terminating proxy (trusted): the cookie is Secure.
  const { app: proxied } = await startApp(t, await startSandbox(t), {
    env: { ...idp.env, ADMIN_API_KEYS: `ops:${OPS_KEY}`, OIDC_CLIENT_ID: CONSOLE_CLIENT, TRUST_PROXY: 'loopback' },
  })
  const overTls = await proxied.inject({ url: '/auth/login', headers: { 'x-forwarded-proto': 'https' } })
  t.match(String(overTls.headers['set-cookie']), /; HttpOnly; SameSite=Lax; Secure$/)
  t.match(new URL(overTls.headers.location as string).searchParams.get('redirect_uri'), /^https:\/\/localhost(:\d+)?\/auth\/callback$/)

  // A callback with the right state but a code the provider does not know: a clear page, no session.
  const state = to.searchParams.get('state') as string
  const badCode = await app.inject({ url: `/auth/callback?code=bogus&state=${state}`, headers: { cookie: `creditgate_login=${state}` } })
  t.equal(badCode.statusCode, 503)
  t.match(badCode.body, /could not be completed: the provider&#39;s token endpoint answered 400 \(invalid_grant\)/)
  t.notMatch(String(badCode.headers['set-cookie']), /creditgate_session=[\w-]/)
  const replay = await app.inject({ url: `/auth/callback?code=bogus&state=${state}`, headers: { cookie: `creditgate_login=${state}` } })
  t.equal(replay.statusCode, 400, 'a state is used once')

  // Sign-out without a session: nothing to end, the cookie cleared all the same.
  const out = await app.inject({ method: 'POST', url: '/auth/logout' })
  t.equal(out.statusCode, 200)
  t.match(out.json(), { signed_out: true, end_session_url: /^http:\/\/127\.0\.0\.1:\d+\/session\/end\?client_id=creditgate-console$/ })

  // The provider down: a new sign-in fails with a page saying so (a service started meanwhile never discovered it).
  await idp.stop()
  const sandbox = await startSandbox(t)
  const { app: late } = await startApp(t, sandbox, {
    env: { ...idp.env, ADMIN_API_KEYS: `ops:${OPS_KEY}`, OIDC_CLIENT_ID: CONSOLE_CLIENT },
  })
  const down = await late.inject({ url: '/auth/login' })
  t.equal(down.statusCode, 503)
  t.match(down.headers['content-type'], /^text\/html/)
  t.match(down.body, /cannot be reached/)
})

t.test('without OIDC_CLIENT_ID the console offers the admin key only', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${OPS_KEY}` } })
  t.same((await app.inject({ url: '/auth/config' })).json(), { sign_in_url: null })
  t.equal((await app.inject({ url: '/auth/login' })).statusCode, 404)
  t.equal((await app.inject({ url: '/auth/callback' })).statusCode, 404)
  t.same((await app.inject({ method: 'POST', url: '/auth/logout' })).json(), { signed_out: true, end_session_url: null })
  t.match((await app.inject({ url: '/auth/me', headers: { 'x-api-key': OPS_KEY } })).json(), {
    sub: 'ops',
    name: 'ops',
    roles: ['admin'],
    via: 'key',
  })
})
