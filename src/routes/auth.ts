import { hash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Provider } from '../adapters/oidc/provider.js'
import type { OidcConfig } from '../config.js'
import { type Actor, actorFromClaims, ROLES } from '../domain/actor.js'
import { cookie, readCookies } from '../lib/cookies.js'
import { CALLER_SECURITY, createSessionCheck, SESSION_COOKIE } from '../plugins/access.js'
import { LOGIN_TTL_SECONDS, newSecret, type Sessions } from '../services/sessions.js'
import { problemResponses } from './schemas.js'

const LOGIN_COOKIE = 'creditgate_login'
const TOKEN_TIMEOUT_MS = 5000

const MeSchema = z
  .object({
    sub: z.string().describe("The provider's subject for a person; the key's name for an API key"),
    name: z.string().describe("A person's name or e-mail; the key's name"),
    roles: z.array(z.enum(ROLES)),
    via: z.enum(['key', 'oidc']),
    csrf_token: z
      .string()
      .optional()
      .describe('Signed in through the console: send it as `X-CSRF-Token` on every call that changes something (POST, DELETE)'),
  })
  .meta({
    id: 'Me',
    example: { sub: 'alice', name: 'Alice Approver', roles: ['approver'], via: 'oidc', csrf_token: 'b1Jx…43 characters' },
  })

const SignedOutSchema = z
  .object({
    signed_out: z.boolean(),
    end_session_url: z
      .string()
      .nullable()
      .describe('Where the browser may go to sign out of the provider too (its end_session_endpoint), or null'),
  })
  .meta({
    id: 'SignedOut',
    example: { signed_out: true, end_session_url: 'https://idp.example.com/session/end?client_id=creditgate-console' },
  })

/** Only the console may be returned to after a sign-in: never another site. */
const ReturnToSchema = z
  .string()
  .max(200)
  .regex(/^\/console(?:[/?#][^\s\\]*)?$/, 'must be a path of the console (/console…)')

/** A page a person reads in the browser: why the sign-in cannot go on. */
const PAGE = { description: 'An HTML page saying why the sign-in cannot go on', content: { 'text/html': { schema: z.string() } } }

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** A sign-in that cannot go on: a page a person reads (the browser came here, not a program). */
function failedPage(reply: FastifyReply, status: number, message: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed · creditgate</title></head><body><main><h1>Sign-in failed</h1><p>${escapeHtml(message)}</p><p><a href="/console">Back to the console</a> (an admin key still opens it).</p></main></body></html>`,
    )
}

const secure = (req: FastifyRequest) => req.protocol === 'https'
const callbackUrl = (req: FastifyRequest) => `${req.protocol}://${req.host}/auth/callback`

/**
 * The console's sign-in through the identity provider: authorization code with PKCE, the code
 * exchanged here (server side), the person's roles read from the access token as for a bearer
 * JWT, and a server-side session behind an HttpOnly, SameSite=Strict cookie. No token reaches the
 * page; state-changing calls carry the session's CSRF token.
 */
export const authRoutes: FastifyPluginAsyncZod<{ oidc: OidcConfig | undefined }> = async (app, { oidc }) => {
  const provider: Provider | undefined = app.oidcProvider
  const sessions: Sessions | undefined = app.sessions
  const clientId = oidc?.clientId
  const enabled = oidc && provider && sessions && clientId ? { oidc, provider, sessions, clientId } : undefined

  app.get(
    '/auth/config',
    {
      schema: {
        operationId: 'signInOptions',
        security: [],
        summary: 'How a person signs in to the console',
        description:
          'Open to anyone: whether the console offers a sign-in through the identity provider (OIDC_CLIENT_ID) beside the admin key.',
        tags: ['people'],
        response: {
          200: z
            .object({ sign_in_url: z.string().nullable().describe('GET it in the browser to sign in; null: admin keys only') })
            .meta({ id: 'SignInOptions', example: { sign_in_url: '/auth/login' } }),
          ...problemResponses(429, 500),
        },
      },
    },
    async () => ({ sign_in_url: enabled ? '/auth/login' : null }),
  )

  app.get(
    '/auth/login',
    {
      schema: {
        operationId: 'signIn',
        security: [],
        summary: 'Console sign-in through the identity provider',
        description:
          "Redirects the browser to the provider's login page (authorization code with PKCE). Needs OIDC_ISSUER and OIDC_CLIENT_ID; without them, or while the provider cannot be reached, an HTML page says why.",
        tags: ['people'],
        querystring: z.strictObject({ return_to: ReturnToSchema.optional().describe('Where the console opens after the sign-in') }),
        response: { 302: z.null().describe("To the provider's login page (Location)"), 400: PAGE, 404: PAGE, 503: PAGE },
      },
    },
    async (req, reply) => {
      if (!enabled)
        return failedPage(reply, 404, 'Sign-in through an identity provider is not configured here (OIDC_ISSUER, OIDC_CLIENT_ID).')
      let endpoint: string | undefined
      try {
        endpoint = (await enabled.provider.endpoints()).authorization_endpoint
      } catch {
        endpoint = undefined
      }
      if (!endpoint) return failedPage(reply, 503, 'The identity provider cannot be reached just now. Try again in a minute.')
      const state = newSecret()
      const verifier = newSecret()
      await enabled.sessions.begin(state, { verifier, returnTo: req.query.return_to ?? '/console' })
      const url = new URL(endpoint)
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: enabled.clientId,
        redirect_uri: callbackUrl(req),
        scope: 'openid profile email',
        state,
        code_challenge: hash('sha256', verifier, 'base64url'),
        code_challenge_method: 'S256',
      }).toString()
      // Lax: the provider sends the browser back with a cross-site redirect, which a Strict cookie would not follow.
      reply.header('set-cookie', cookie(LOGIN_COOKIE, state, { maxAge: LOGIN_TTL_SECONDS, secure: secure(req), sameSite: 'Lax' }))
      return reply.header('cache-control', 'no-store').redirect(url.toString(), 302)
    },
  )

  app.get(
    '/auth/callback',
    {
      schema: {
        operationId: 'signInCallback',
        security: [],
        summary: 'Where the identity provider sends the browser back',
        description:
          "Checks `state` against the browser's sign-in cookie, exchanges `code` (with the PKCE verifier) at the provider's token endpoint, verifies the access token as a bearer JWT, opens a session and redirects to the console. Failures are HTML pages.",
        tags: ['people'],
        querystring: z.looseObject({
          code: z.string().max(2000).optional(),
          state: z.string().max(100).optional(),
          error: z.string().max(200).optional(),
          error_description: z.string().max(500).optional(),
        }),
        response: { 302: z.null().describe('To the console, signed in (Location)'), 400: PAGE, 403: PAGE, 404: PAGE, 503: PAGE },
      },
    },
    async (req, reply) => {
      if (!enabled) return failedPage(reply, 404, 'Sign-in through an identity provider is not configured here.')
      const { code, state, error, error_description } = req.query
      const cookies = readCookies(req.headers.cookie)
      reply.header('set-cookie', cookie(LOGIN_COOKIE, '', { maxAge: 0, secure: secure(req), sameSite: 'Lax' }))
      if (error) return failedPage(reply, 400, `The identity provider refused the sign-in: ${error_description ?? error}.`)
      const login = state && cookies.get(LOGIN_COOKIE) === state ? await enabled.sessions.finish(state) : undefined
      if (!login || !code)
        return failedPage(reply, 400, 'This sign-in was not started in this browser, or it took longer than 10 minutes. Start again.')
      let signedIn: { actor: Actor; expiresAt: number }
      try {
        const claims = await exchange(enabled, code, login.verifier, callbackUrl(req))
        signedIn = { actor: actorFromClaims(claims, enabled.oidc.rolesClaim, enabled.oidc.roleMap), expiresAt: Number(claims.exp) * 1000 }
      } catch (err) {
        req.log.warn({ err }, 'console sign-in failed')
        return failedPage(reply, 503, `The sign-in could not be completed: ${(err as Error).message}.`)
      }
      const { actor } = signedIn
      if (actor.roles.length === 0) return failedPage(reply, 403, `${actor.name} is signed in but holds no creditgate role. Ask for one.`)
      const { id, session } = await enabled.sessions.open(actor, signedIn.expiresAt)
      req.log.info({ sub: actor.sub, roles: actor.roles }, 'console sign-in')
      const maxAge = Math.max(1, Math.floor((session.expiresAt - Date.now()) / 1000))
      reply.header('set-cookie', [
        cookie(LOGIN_COOKIE, '', { maxAge: 0, secure: secure(req), sameSite: 'Lax' }),
        cookie(SESSION_COOKIE, id, { maxAge, secure: secure(req), sameSite: 'Strict' }),
      ])
      return reply.header('cache-control', 'no-store').redirect(login.returnTo, 302)
    },
  )

  app.get(
    '/auth/me',
    {
      config: { auth: 'anyone' },
      schema: {
        operationId: 'whoAmI',
        summary: 'Who is asking, with which roles',
        description:
          'The person signed in to the console (its session cookie), the token or the API key of the request: subject, name, roles. A console session also gets its CSRF token.',
        tags: ['people'],
        security: CALLER_SECURITY,
        response: { 200: MeSchema, ...problemResponses(401, 403, 429, 500) },
      },
    },
    async (req) => {
      const actor = req.actor ?? { sub: req.caller ?? 'anonymous', name: req.caller ?? 'anonymous', roles: [], via: 'key' as const }
      const session =
        req.headers.authorization || req.headers['x-api-key']
          ? undefined
          : await sessions?.find(readCookies(req.headers.cookie).get(SESSION_COOKIE))
      return { ...actor, ...(session ? { csrf_token: session.csrf } : {}) }
    },
  )

  const sessionCheck = sessions && createSessionCheck(sessions)
  app.post(
    '/auth/logout',
    {
      schema: {
        operationId: 'signOut',
        summary: 'End the console session',
        description:
          'Ends the session on the server (every instance, with Redis) and clears the cookie; needs the `X-CSRF-Token` of the session. Answers where the browser may sign out of the provider too.',
        tags: ['people'],
        security: [{ sessionCookie: [] }],
        response: { 200: SignedOutSchema, ...problemResponses(403, 500) },
      },
    },
    async (req, reply) => {
      const id = readCookies(req.headers.cookie).get(SESSION_COOKIE)
      // The CSRF check: a page elsewhere cannot sign a person out either.
      if (sessionCheck && (await sessionCheck(req))) await sessions?.close(id)
      reply.header('set-cookie', cookie(SESSION_COOKIE, '', { maxAge: 0, secure: secure(req), sameSite: 'Strict' }))
      const end = provider?.discovery?.end_session_endpoint
      return {
        signed_out: true,
        end_session_url: end && clientId ? `${end}?${new URLSearchParams({ client_id: clientId })}` : null,
      }
    },
  )
}

/** The code for tokens at the provider's token endpoint (client_secret_basic with a secret, else a public client), then the access token verified. */
async function exchange(
  { provider, oidc, clientId }: { provider: Provider; oidc: OidcConfig; clientId: string },
  code: string,
  verifier: string,
  redirectUri: string,
): Promise<Record<string, unknown>> {
  const { token_endpoint } = await provider.endpoints()
  if (!token_endpoint) throw new Error("the provider's discovery document names no token endpoint")
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier })
  if (oidc.clientSecret) {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(oidc.clientSecret)}`).toString('base64')}`
  } else form.set('client_id', clientId)
  const response = await fetch(token_endpoint, {
    method: 'POST',
    headers,
    body: form,
    signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    redirect: 'error',
  })
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown }
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new Error(
      `the provider's token endpoint answered ${response.status}${typeof body.error === 'string' ? ` (${body.error.slice(0, 100)})` : ''}`,
    )
  }
  return provider.verify(body.access_token)
}
