import { hash, timingSafeEqual } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createBatchedStore } from '../adapters/redis/rate-limit-store.js'
import type { ApiKey, Config } from '../config.js'
import { type Actor, keyActor } from '../domain/actor.js'
import { isProblem, Problem } from '../errors.js'
import { redactUrl } from '../lib/logging.js'

export type AuthLevel = 'none' | 'caller' | 'admin'

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
export const CALLER_SECURITY: { [scheme: string]: string[] }[] = [{ bearerAuth: [] }, { apiKey: [] }]
export const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer <key>` with a key from API_KEYS (or ADMIN_API_KEYS)' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same key in the `X-API-Key` header' },
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

export function createAuth(apiKeys: readonly ApiKey[], adminKeys: readonly ApiKey[]) {
  const callers = apiKeys.map((k) => ({ name: k.name, digest: digest(k.key) }))
  const admins = adminKeys.map((k) => ({ name: k.name, digest: digest(k.key) }))
  const open = callers.length === 0

  return async function authenticate(req: FastifyRequest): Promise<void> {
    const level = req.routeOptions.config.auth ?? 'none'
    if (level === 'none') return
    const presented = presentedKey(req)
    if (level === 'admin' && admins.length === 0) {
      throw new Problem('forbidden', 'admin endpoints are disabled: set ADMIN_API_KEYS to enable them')
    }
    if (presented === undefined) {
      if (level === 'caller' && open) {
        req.caller = ANONYMOUS
        return
      }
      throw new Problem('unauthorized', 'send an API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"')
    }
    const admin = match(admins, presented)
    const caller = match(callers, presented)
    req.admin = admin !== undefined
    if (level === 'admin') {
      if (admin) {
        req.caller = admin
        req.actor = keyActor(admin, true)
      } else if (caller) throw new Problem('forbidden', `the key "${caller}" may not use admin endpoints`)
      else throw new Problem('unauthorized', 'the API key is not valid')
      return
    }
    const name = caller ?? admin
    if (name) {
      req.caller = name
      req.actor = keyActor(name, caller === undefined)
    } else if (open) req.caller = ANONYMOUS
    else throw new Problem('unauthorized', 'the API key is not valid')
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
  const authenticate = createAuth(config.apiKeys, config.adminApiKeys)
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

export default fp(accessPlugin, { name: 'access', dependencies: ['metrics', 'redis'] })
