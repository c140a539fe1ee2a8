import { hash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { type Provider, TokenError } from '../adapters/oidc/provider.js'
import type { ApiKey, OidcConfig } from '../config.js'
import { type Actor, actorFromClaims, ClaimError, keyActor, type Role } from '../domain/actor.js'
import { Problem } from '../errors.js'
import { readCookies } from '../lib/cookies.js'
import { csrfMatches, type Sessions } from '../services/sessions.js'

/**
 * Who may call a route, by role. API keys hold one role each (caller keys `caller`, admin keys
 * `admin`); a person or client signed in through the identity provider holds the roles its token
 * maps to (OIDC_ROLE_MAP).
 */
export const ALLOW = {
  /** Decisions and what an order system does with them. */
  caller: ['caller', 'admin'],
  /** What callers and staff both read (the rule set, a decision by id: its owner or staff). */
  anyone: ['caller', 'viewer', 'approver', 'admin'],
  /** The console's read-only views. */
  readers: ['viewer', 'approver', 'admin'],
  /** Releases and rejections of held orders (within RELEASE_LIMITS). */
  approvers: ['approver', 'admin'],
  /** Purges, reloads, backtests. */
  admin: ['admin'],
} as const satisfies Record<string, readonly Role[]>

export type AuthLevel = 'none' | keyof typeof ALLOW

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; the onRequest hook below enforces it. Default: none. */
    auth?: AuthLevel
  }
  interface FastifyRequest {
    /** The name of the key that authenticated the request (never the key). */
    caller?: string
    /** The key is an admin key (ADMIN_API_KEYS). */
    admin?: boolean
    /** Who is asking, for the audit trail: set with `caller` by the onRequest hook. */
    actor?: Actor
    /** A wrong or missing key: logged once per client and minute by the access plugin, not per request. */
    logQuietly?: boolean
  }
}

/** OpenAPI security requirement for routes behind API keys. */
export const CALLER_SECURITY: { [scheme: string]: string[] }[] = [
  { bearerAuth: [] },
  { apiKey: [] },
  { bearerJwt: [] },
  { sessionCookie: [] },
]
export const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer <key>` with a key from API_KEYS (or ADMIN_API_KEYS)' },
  bearerJwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      '`Authorization: Bearer <JWT>`: an access token from the OpenID provider OIDC_ISSUER, for the audience OIDC_AUDIENCE; its roles claim (OIDC_ROLES_CLAIM) maps to caller, viewer, approver or admin (OIDC_ROLE_MAP)',
  },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same key in the `X-API-Key` header' },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'creditgate_session',
    description:
      'The console session opened by GET /auth/login (a person signed in through the identity provider); calls that change something also send `X-CSRF-Token`',
  },
  webhookSecret: { type: 'apiKey', in: 'header', name: 'X-Webhook-Secret', description: 'WEBHOOK_SECRET, or the query parameter `secret`' },
} as const

const sha256 = (key: string) => hash('sha256', key, 'buffer') as unknown as Buffer

/**
 * Digests of recently presented keys, so that a caller's key is hashed once, not per request.
 * Comparison stays constant-time on the digests; that a string was presented before tells
 * nothing about any configured key.
 */
const seen = new Map<string, Buffer>()
const digest = (key: string) => {
  let d = seen.get(key)
  if (!d) {
    if (seen.size >= 1000) seen.clear()
    d = sha256(key)
    seen.set(key, d)
  }
  return d
}

/** The presented key: "Authorization: Bearer …" or "X-API-Key: …". */
export function presentedKey(req: FastifyRequest): string | undefined {
  const authorization = req.headers.authorization
  if (authorization) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? ''
  const header = req.headers['x-api-key']
  return typeof header === 'string' ? header : undefined
}

/**
 * Finds the name of the key in a list, comparing digests in constant time and always walking
 * the whole list, so timing says nothing about which key (or how much of one) matched.
 */
function match(keys: readonly { name: string; digest: Buffer }[], presented: string): string | undefined {
  const candidate = digest(presented)
  let found: string | undefined
  for (const key of keys) {
    if (timingSafeEqual(key.digest, candidate) && found === undefined) found = key.name
  }
  return found
}

/** Three base64url parts: a compact JWS, never one of our keys' usual forms. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** A bearer JWT's actor, or a 401 saying why the token is refused. */
export function createTokenCheck(provider: Provider, oidc: OidcConfig) {
  return async (token: string): Promise<Actor> => {
    try {
      return actorFromClaims(await provider.verify(token), oidc.rolesClaim, oidc.roleMap)
    } catch (err) {
      if (err instanceof TokenError || err instanceof ClaimError) throw new Problem('unauthorized', err.message)
      throw err
    }
  }
}

/** The browser's session cookie (console sign-in through the provider). */
export const SESSION_COOKIE = 'creditgate_session'
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** A console session's actor, from its cookie; a state-changing call must carry the session's CSRF token too. */
export function createSessionCheck(sessions: Sessions) {
  return async (req: FastifyRequest): Promise<Actor | undefined> => {
    const session = await sessions.find(readCookies(req.headers.cookie).get(SESSION_COOKIE))
    if (!session) return undefined
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(session, req.headers['x-csrf-token'])) {
      throw new Problem('forbidden', 'a console call that changes something must carry the X-CSRF-Token header given by GET /auth/me')
    }
    return session.actor
  }
}

/**
 * The Zoho webhook's shared secret (WEBHOOK_SECRET), sent in `X-Webhook-Secret` or the `secret`
 * query parameter and compared in constant time. POST /webhooks/zoho runs it as its own onRequest
 * hook (after the rate limit, as route hooks run). Without a secret the webhook is disabled (403).
 */
export function createWebhookCheck(secret: string | undefined) {
  const expected = secret === undefined ? undefined : sha256(secret)
  return async (req: FastifyRequest): Promise<void> => {
    if (!expected) throw new Problem('forbidden', 'the Zoho webhook is disabled: set WEBHOOK_SECRET to enable it')
    const header = req.headers['x-webhook-secret']
    const query = (req.query as Record<string, unknown> | undefined)?.secret
    const given = typeof header === 'string' ? header : typeof query === 'string' ? query : ''
    if (!timingSafeEqual(sha256(given), expected)) throw new Problem('unauthorized', 'wrong or missing webhook secret')
  }
}

export interface Authenticators {
  /** A bearer JWT's actor (OIDC_ISSUER). */
  token?: ((token: string) => Promise<Actor>) | undefined
  /** A console session's actor (OIDC_CLIENT_ID). */
  session?: ((req: FastifyRequest) => Promise<Actor | undefined>) | undefined
}

export function createAuth(apiKeys: readonly ApiKey[], adminKeys: readonly ApiKey[], { token, session }: Authenticators = {}) {
  const callers = apiKeys.map((k) => ({ name: k.name, digest: digest(k.key) }))
  const admins = adminKeys.map((k) => ({ name: k.name, digest: digest(k.key) }))
  const open = callers.length === 0

  /** Who presented what: a key, a token, a session; undefined for nobody (an open API's anonymous caller). */
  async function identify(req: FastifyRequest, forCallers: boolean): Promise<Actor | undefined> {
    const presented = presentedKey(req)
    if (presented === undefined) {
      const actor = session && (await session(req))
      if (actor || (forCallers && open)) return actor
      throw new Problem('unauthorized', 'send an API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"')
    }
    const admin = match(admins, presented)
    const name = match(callers, presented) ?? admin
    if (name) return keyActor(name, admin !== undefined)
    if (token && JWT_SHAPE.test(presented)) return token(presented)
    if (forCallers && open) return undefined
    throw new Problem('unauthorized', 'the API key is not valid')
  }

  return async function authenticate(req: FastifyRequest): Promise<void> {
    const level = req.routeOptions.config.auth ?? 'none'
    if (level === 'none') return
    const allowed: readonly Role[] = ALLOW[level]
    const forCallers = allowed.includes('caller')
    if (!forCallers && admins.length === 0 && !token) {
      throw new Problem('forbidden', 'admin endpoints are disabled: set ADMIN_API_KEYS to enable them')
    }
    const actor = await identify(req, forCallers)
    if (!actor) {
      req.caller = ANONYMOUS
      return
    }
    req.admin = actor.roles.includes('admin')
    if (!actor.roles.some((role) => allowed.includes(role))) {
      // A key is refused only by routes for staff: an admin key's.
      if (actor.via === 'key') throw new Problem('forbidden', `the key "${actor.name}" may not use admin endpoints`)
      throw new Problem(
        'forbidden',
        `${actor.name} (roles: ${actor.roles.join(', ') || 'none'}) may not use this route: it is for ${allowed.join(', ')}`,
      )
    }
    // The bucket and the owner of decisions: a key's name, or the token's subject (never a key's name).
    req.caller = actor.via === 'key' ? actor.name : `oidc:${actor.sub}`
    req.actor = actor
  }
}

/** Who is counted for a request: its key's name, or its address when it came without one. */
export const callerBucket = (req: FastifyRequest): string =>
  req.caller === undefined || req.caller === ANONYMOUS ? `ip:${req.ip}` : req.caller

const ANONYMOUS = 'anonymous'

/**
 * A presented key as the log and the metric name it: the first 8 hex digits of its SHA-256
 * (`printf %s "$KEY" | sha256sum | cut -c1-8` gives the same for a key an operator suspects),
 * never the key. "none" when no key came.
 */
export const keyFingerprint = (presented: string | undefined): string =>
  presented === undefined ? 'none' : sha256(presented).toString('hex').slice(0, 8)
