import { hash, timingSafeEqual } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createLocalSessions } from '../adapters/local/sessions.js'
import { createProvider, type Provider, TokenError } from '../adapters/oidc/provider.js'
import { createBatchedStore } from '../adapters/redis/rate-limit-store.js'
import { createRedisSessions } from '../adapters/redis/sessions.js'
import type { ApiKey, Config, OidcConfig } from '../config.js'
import { type Actor, actorFromClaims, ClaimError, keyActor, type Role } from '../domain/actor.js'
import { isProblem, Problem } from '../errors.js'
import { readCookies } from '../lib/cookies.js'
import { redactUrl } from '../lib/logging.js'
import { createSessions, csrfMatches, type Sessions } from '../services/sessions.js'

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
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

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

/** Wrong or missing keys an address may present in a minute before they are answered 429. */
export const AUTH_FAILURES_PER_MINUTE = 10
const ANONYMOUS = 'anonymous'
/** Fingerprints the metric tells apart; the others are counted as "other". */
const MAX_KEY_LABELS = 20
/** Clients (addresses) whose wrong keys are being summed up for the log at once; the longest quiet is forgotten first. */
const MAX_CLIENTS = 10_000

/**
 * A presented key as the log and the metric name it: the first 8 hex digits of its SHA-256
 * (`printf %s "$KEY" | sha256sum | cut -c1-8` gives the same for a key an operator suspects),
 * never the key. "none" when no key came.
 */
export const keyFingerprint = (presented: string | undefined): string =>
  presented === undefined ? 'none' : sha256(presented).toString('hex').slice(0, 8)

/** Probes, metrics and the docs: always open, never throttled. */
const OPEN_ROUTES = /^\/(healthz|readyz|metrics|docs|problems)(\/|$)/

/**
 * Who may call what, and how often: API keys (routes declare `config.auth`), then a per-key
 * allowance per minute (per address without keys), counted across instances through Redis.
 *
 * Wrong or missing keys are throttled per address: past AUTH_FAILURES_PER_MINUTE in a minute
 * they are answered 429 instead of 401. The key is checked first, so a valid key is never
 * throttled, whatever else comes from its address (a proxy, a NAT); and a valid key refused an
 * admin route (403) is not a wrong key. Keys are long random secrets: the throttle is not against
 * guessing but against what a flood of wrong keys costs — their log lines above all: a client
 * that keeps presenting them writes one line a minute, and a counter by key fingerprint.
 */
const accessPlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  if (config.apiKeys.length === 0) app.log.warn('API_KEYS is not set: the decision API is open to anyone who can reach it')
  const provider = config.oidc ? startProvider(app, config.oidc) : undefined
  const sessions = config.oidc?.clientId
    ? createSessions(app.shared.store({ local: () => createLocalSessions(), redis: (link) => createRedisSessions(link) }))
    : undefined
  app.decorate('oidcProvider', provider)
  app.decorate('sessions', sessions)
  const authenticate = createAuth(config.apiKeys, config.adminApiKeys, {
    token: provider && config.oidc && createTokenCheck(provider, config.oidc),
    session: sessions && createSessionCheck(sessions),
  })
  const Failures = createBatchedStore(app.shared.link, 'creditgate:v1:authfail:')
  const failures = new Failures()
  const countFailure = (ip: string) =>
    new Promise<{ current: number; ttl: number }>((resolve) => failures.incr(ip, (_err, result) => resolve(result), 60_000))
  const refused = new Counter({
    name: 'creditgate_auth_refused_total',
    help: `Requests refused for a wrong or missing API key, by the key's fingerprint (first 8 hex digits of its SHA-256; none: no key; other: past ${MAX_KEY_LABELS} fingerprints)`,
    labelNames: ['key'],
    registers: [app.metrics.registry],
  })
  refused.inc({ key: 'none' }, 0)
  const labels = new Set<string>()
  const label = (fingerprint: string) => {
    if (fingerprint !== 'none' && !labels.has(fingerprint)) {
      if (labels.size >= MAX_KEY_LABELS) return 'other'
      labels.add(fingerprint)
    }
    return fingerprint
  }
  // Per client: when its last line was written, and what it presented since.
  const clients = new Map<string, { loggedAt: number; refused: number; keys: Set<string> }>()
  const log = app.log.child({ component: 'access' })
  /** One line per client and minute: the first refusal of a minute writes it, with what came since the last. */
  const logRefusal = (req: FastifyRequest, fingerprint: string, throttled: boolean) => {
    const now = Date.now()
    let client = clients.get(req.ip)
    clients.delete(req.ip)
    if (!client) client = { loggedAt: 0, refused: 0, keys: new Set() }
    clients.set(req.ip, client)
    if (clients.size > MAX_CLIENTS) clients.delete(clients.keys().next().value as string)
    client.refused++
    if (client.keys.size < 5) client.keys.add(fingerprint)
    if (now - client.loggedAt < 60_000) return
    log.warn(
      { client: req.ip, refused: client.refused, keys: [...client.keys], url: redactUrl(req.url), throttled },
      'wrong or missing API keys from this client (one line per client and minute)',
    )
    client.loggedAt = now
    client.refused = 0
    client.keys.clear()
  }
  app.addHook('onRequest', async (req) => {
    if ((req.routeOptions.config.auth ?? 'none') === 'none') return
    try {
      await authenticate(req)
    } catch (err) {
      if (!isProblem(err, 'unauthorized')) throw err
      const fingerprint = keyFingerprint(presentedKey(req))
      refused.inc({ key: label(fingerprint) })
      req.logQuietly = true
      const seen = await countFailure(req.ip)
      const throttled = seen.current > AUTH_FAILURES_PER_MINUTE
      logRefusal(req, fingerprint, throttled)
      if (!throttled) throw err
      throw new Problem('rate_limited', `more than ${AUTH_FAILURES_PER_MINUTE} wrong or missing API keys from this address in a minute`, {
        retryAfterSeconds: Math.max(1, Math.ceil(seen.ttl / 1000)),
      })
    }
  })
  // The audit trail of staff actions (purges, reloads, backtests, validations): who, with which roles.
  app.addHook('onResponse', async (req, reply) => {
    const level = req.routeOptions.config.auth ?? 'none'
    if (SAFE_METHODS.has(req.method) || level === 'none' || level === 'caller' || level === 'anyone' || !req.actor) return
    const { sub, name, roles, via } = req.actor
    log.info(
      { actor: { sub, name, roles, via }, method: req.method, route: req.routeOptions.url, status: reply.statusCode },
      'staff action',
    )
  })
  if (config.rateLimitPerMinute === 0) return
  await app.register(rateLimit, {
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    // Callers without a key (none configured) are told apart by their address.
    keyGenerator: callerBucket,
    // The limits are documented; the headers come with a 429 (and Retry-After), not on every answer.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    allowList: (req) => OPEN_ROUTES.test(req.url),
    store: createBatchedStore(app.shared.link, 'creditgate:v1:ratelimit:'),
    errorResponseBuilder: (_req, context) =>
      new Problem('rate_limited', `more than ${context.max} requests per minute for this key`, {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  })
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenID provider (OIDC_ISSUER), when one is configured: the console's sign-in uses it too. */
    oidcProvider: Provider | undefined
    /** Console sessions (OIDC_CLIENT_ID): the sign-in routes open and close them. */
    sessions: Sessions | undefined
  }
}

/**
 * The identity provider's keys, loaded in the background (start-up never waits for the provider),
 * counted in /metrics, and shown in /readyz without ever making the service unready: API keys and
 * tokens whose keys are held keep working while the provider is down.
 */
function startProvider(app: FastifyInstance, oidc: OidcConfig): Provider {
  const log = app.log.child({ component: 'oidc' })
  const fetches = new Counter({
    name: 'creditgate_oidc_fetches_total',
    help: "Fetches of the identity provider's discovery document and signing keys (JWKS), by outcome",
    labelNames: ['document', 'outcome'],
    registers: [app.metrics.registry],
  })
  const provider = createProvider({
    issuer: oidc.issuer,
    audience: oidc.audience,
    onFetch: (document, outcome, err) => {
      fetches.inc({ document, outcome })
      if (err) log.warn({ err, issuer: oidc.issuer, document }, 'identity provider not reachable: tokens whose keys are held keep working')
    },
  })
  void provider.start()
  app.addHook('onClose', () => provider.stop())
  app.lifecycle.addCheck('oidc', () => {
    const keys = provider.keys
    return keys
      ? { ok: true, detail: `${keys.kids} signing key${keys.kids === 1 ? '' : 's'} of ${oidc.issuer} (${keys.algorithms.join(', ')})` }
      : {
          ok: true,
          degraded: true,
          detail: `the signing keys of ${oidc.issuer} are not loaded yet: bearer JWTs are refused, API keys work`,
        }
  })
  return provider
}

export default fp(accessPlugin, { name: 'access', dependencies: ['metrics', 'redis', 'lifecycle'] })
