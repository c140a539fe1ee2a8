import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createLocalSessions, LOCAL_LOGINS } from '../adapters/local/sessions.js'
import { createProvider, type Provider } from '../adapters/oidc/provider.js'
import { createBatchedStore } from '../adapters/redis/rate-limit-store.js'
import { createRedisSessions } from '../adapters/redis/sessions.js'
import type { Config, OidcConfig } from '../config.js'
import { isProblem, Problem } from '../errors.js'
import { redactUrl } from '../lib/logging.js'
import { createSessions, type Sessions } from '../services/sessions.js'
import {
  callerBucket,
  createAuth,
  createSessionCheck,
  createTokenCheck,
  keyFingerprint,
  presentedKey,
  SAFE_METHODS,
} from './credentials.js'

// Who presented what (keys, tokens, sessions, the webhook secret) is credentials.ts; routes import its names from here.
export {
  type AuthLevel,
  CALLER_SECURITY,
  callerBucket,
  createSessionCheck,
  createWebhookCheck,
  keyFingerprint,
  SECURITY_SCHEMES,
  SESSION_COOKIE,
} from './credentials.js'

/** Wrong or missing keys an address may present in a minute before they are answered 429. */
export const AUTH_FAILURES_PER_MINUTE = 10
/** Fingerprints the metric tells apart; the others are counted as "other". */
const MAX_KEY_LABELS = 20
/** Clients (addresses) whose wrong keys are being summed up for the log at once; the longest quiet is forgotten first. */
const MAX_CLIENTS = 10_000

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
    ? createSessions(
        app.shared.store({ local: () => createLocalSessions(), redis: (link) => createRedisSessions(link) }),
        app.shared.store({
          local: () => createLocalSessions(LOCAL_LOGINS),
          redis: (link) => createRedisSessions(link, createLocalSessions(LOCAL_LOGINS)),
        }),
      )
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
