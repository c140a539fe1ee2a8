import { randomUUID } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import pino, { type DestinationStream } from 'pino'
import { type CacheEntry, type ContactCache, createMemoryCache, fetchedAtMs } from './adapters/contact-cache.js'
import { createBatchedStore } from './adapters/rate-limit-store.js'
import { connectRedis, type RedisLink } from './adapters/redis.js'
import { createRedisBudget } from './adapters/redis-budget.js'
import { createRedisCache, createResilientCache } from './adapters/redis-cache.js'
import { createRedisFlight } from './adapters/redis-flight.js'
import { createSharedTokens } from './adapters/redis-tokens.js'
import { type ContactSource, createZohoBooks } from './adapters/zoho-books.js'
import { createLocalBudget } from './adapters/zoho-budget.js'
import { createLocalTokens, createTokenMinter } from './adapters/zoho-token.js'
import type { Config } from './config.js'
import { Problem } from './errors.js'
import { loggerOptions, RequestLog } from './logging.js'
import { createMetrics, type Metrics } from './metrics.js'
import { addOpenApiExamples } from './openapi-examples.js'
import { frameworkErrors, installProblemHandling, utf8Problem } from './problem-handling.js'
import { createAuth, SECURITY_SCHEMES } from './routes/auth.js'
import { cacheRoutes } from './routes/cache.js'
import { healthRoutes } from './routes/health.js'
import { problemRoutes } from './routes/problems.js'
import { type DecisionRecorder, riskRoutes } from './routes/risk.js'
import { rulesRoutes } from './routes/rules.js'
import type { Evaluate } from './rules/evaluate.js'
import { createRulesManager, type RulesManager } from './rules/manager.js'
import type { RuleSet } from './rules/rule-set.js'
import { SANDBOX_CREDENTIALS } from './sandbox/contacts.js'
import { createSandbox } from './sandbox/sandbox.js'
import { API_HEADERS, helmetHeaders } from './security-headers.js'
import { createContactService } from './services/contacts.js'
import { createDecisionService } from './services/decisions.js'

export interface AppDeps {
  /** Replaces the Zoho adapter (tests of everything above it). */
  contactSource: ContactSource
  cache: ContactCache
  ruleSet: RuleSet
  /** Replaces the rule evaluator (tests of the decision path's own guards). */
  evaluate: Evaluate
}

export interface BuildOptions {
  config: Config
  deps?: Partial<AppDeps>
  /** Where log lines go (tests capture them); default stdout. */
  logStream?: DestinationStream
}

export const API_VERSION = '1.0.0'

/** Routes that stay open and unthrottled: probes, metrics and the docs. */
const OPEN_ROUTES = /^\/(healthz|readyz|metrics|docs|problems)(\/|$)/
/** HTML pages, which get browser security headers. */
const PAGES = /^\/(docs|problems)(\/|$)/

declare module 'fastify' {
  interface FastifyInstance {
    /** The active rules; server.ts reloads them on SIGHUP. */
    rules: RulesManager
  }
}

/** The composition root: real adapters from config unless a test hands others in. */
export async function buildApp({ config, deps = {}, logStream }: BuildOptions): Promise<FastifyInstance> {
  // Asynchronous writes (flushed on exit): a decision never waits for stdout.
  const logger: FastifyBaseLogger = pino(loggerOptions(config.logLevel), logStream ?? pino.destination({ dest: 1, sync: false }))
  const app = Fastify({
    loggerInstance: logger,
    logController: new RequestLog(),
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID()
    },
    bodyLimit: 64 * 1024,
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
  })
  // JSON only: fastify's default text/plain parser would let a mislabelled body through.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  installProblemHandling(app)
  // Shutting down: requests in flight finish, and their keep-alive connections close after them.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })

  const metrics = createMetrics()
  const rules: RulesManager = deps.ruleSet
    ? fixedRules(deps.ruleSet)
    : await createRulesManager({
        dir: config.rulesDir,
        log: app.log.child({ component: 'rules' }),
        onReload: (result) => {
          metrics.ruleReloads.inc({ result })
          metrics.rulesInfo.reset()
          metrics.rulesInfo.set({ version: rules.current().version }, 1)
        },
      })
  metrics.rulesInfo.set({ version: rules.current().version }, 1)
  app.addHook('onClose', async () => rules.close())
  app.decorate('rules', rules)

  const zoho = await zohoEndpoints(app, config)
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, app.log.child({ component: 'redis' })) : undefined
  if (redis) {
    app.addHook('onClose', () => redis.close())
    watchRedis(redis, metrics)
  } else if (!deps.cache) app.log.warn('REDIS_URL is not set: contacts are cached in this process only')

  const limits = {
    requestsPerMinute: config.zoho.requestsPerMinute,
    maxConcurrency: config.zoho.maxConcurrency,
    waitMs: config.zoho.timeoutMs,
  }
  const budget = redis ? createRedisBudget(redis, limits, config.zoho.organizationIds) : createLocalBudget(limits)
  const mint = createTokenMinter({ accountsUrl: zoho.accountsUrl, credentials: zoho.credentials, timeoutMs: config.zoho.timeoutMs })
  const localTokens = createLocalTokens(mint)
  const tokens = redis
    ? createSharedTokens({
        link: redis,
        mint,
        local: localTokens,
        credentialId: `${zoho.accountsUrl} ${zoho.credentials.clientId} ${zoho.credentials.refreshToken}`,
        log: app.log.child({ component: 'zoho-token' }),
      })
    : localTokens
  const source =
    deps.contactSource ??
    createZohoBooks({
      apiBaseUrl: zoho.apiBaseUrl,
      timeoutMs: config.zoho.timeoutMs,
      tokens,
      budget,
      log: app.log.child({ component: 'zoho' }),
      onCall: (outcome, seconds) => {
        metrics.zohoCalls.inc({ outcome })
        metrics.zohoDuration.observe({ outcome }, seconds)
      },
      onBudgetRefusal: (reason) => metrics.budgetRejections.inc({ reason }),
    })
  const memory = createMemoryCache()
  // A refilled copy keeps what is left of its stale horizon.
  const remainingTtl = (entry: CacheEntry) =>
    Math.max(1, config.cache.staleTtlSeconds - Math.floor((Date.now() - fetchedAtMs(entry)) / 1000))
  const cache =
    deps.cache ??
    (redis
      ? createResilientCache(redis, createRedisCache(redis, app.log), memory, app.log, {
          freshSeconds: config.cache.ttlSeconds,
          staleSeconds: remainingTtl,
        })
      : memory)
  const contacts = createContactService({
    cache,
    source,
    ttlSeconds: config.cache.ttlSeconds,
    staleTtlSeconds: config.cache.staleTtlSeconds,
    log: app.log.child({ component: 'contacts' }),
    flight: redis ? createRedisFlight(redis, app.log) : undefined,
    flightWaitMs: config.zoho.timeoutMs * 3 + 5000,
    onLookup: (result) => metrics.contactLookups.inc({ result }),
  })
  const decisions = createDecisionService({ contacts, rules: rules.current, failMode: config.failMode, evaluate: deps.evaluate })

  // Requests: id and security headers, UTF-8 bodies, authentication, throttling, timing.
  // Security headers are worked out once. JSON answers get the few that matter for an API (no
  // sniffing, no framing, no caching of decisions, HTTPS only); pages (Swagger UI) get helmet's
  // full set, and Swagger UI its own content security policy (below).
  const pageHeaders = helmetHeaders({})
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id)
    reply.headers(PAGES.test(req.url) ? pageHeaders : API_HEADERS)
    done(utf8Problem(req))
  })
  if (config.apiKeys.length === 0) app.log.warn('API_KEYS is not set: the decision API is open to anyone who can reach it')
  app.addHook('onRequest', createAuth(config.apiKeys, config.adminApiKeys))
  if (config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (req) => req.caller ?? `ip:${req.ip}`,
      // The limits are documented; the headers come with a 429 (and Retry-After), not on every answer.
      addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
      allowList: (req) => OPEN_ROUTES.test(req.url),
      store: createBatchedStore(redis, 'creditgate:v1:ratelimit:'),
      errorResponseBuilder: (_req, context) =>
        new Problem('rate_limited', `more than ${context.max} requests per minute for this key`, {
          retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
        }),
    })
  }
  app.addHook('onResponse', (req, reply, done) => {
    metrics.httpDuration.observe(
      { route: req.routeOptions.url ?? 'unknown', method: req.method, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
    done()
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'creditgate',
        version: API_VERSION,
        description:
          'Credit-risk decisions for order systems whose receivables live in Zoho Books: may this customer place a new order now? Answers `allow`, `review` or `block` with the reasons and alerts behind it.',
      },
      tags: [
        { name: 'risk', description: 'Credit decisions' },
        { name: 'rules', description: 'Rule operations: the active set, validation, reload and dry runs' },
        { name: 'cache', description: 'Cache invalidation: admin purge and the Zoho webhook' },
        { name: 'operations', description: 'Health, readiness and metrics' },
        { name: 'errors', description: 'The pages behind every problem type' },
      ],
      servers: [{ url: '/', description: 'This creditgate' }],
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => addOpenApiExamples(jsonSchemaTransformObject(doc)),
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, persistAuthorization: true, validatorUrl: null },
    // Everything from creditgate itself: no CDN, no online validator. Inline styles only (Swagger
    // UI sets some); scripts only from files. No upgrade-insecure-requests: it also runs on plain
    // http on loopback.
    staticCSP:
      "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'self'; " +
      "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'",
  })

  await app.register(healthRoutes, {
    shuttingDown: () => closing,
    metrics,
    checks: async () => ({
      rules: {
        ok: true,
        degraded: rules.lastError !== undefined,
        detail: `${rules.current().rules.length} rules, ${rules.current().version}${rules.lastError ? '; the last change was rejected: see GET /rules' : ''}`,
      },
      redis: !redis
        ? { ok: true, detail: 'not configured: in-process cache' }
        : redis.up
          ? { ok: true, detail: `connected; ${redis.instances} instance${redis.instances === 1 ? '' : 's'} sharing it` }
          : { ok: true, degraded: true, detail: 'unreachable: serving from the in-process cache and budget' },
      zoho: { ok: true, detail: zoho.sandbox ? 'bundled sandbox' : `data centre ${config.zoho.dc}` },
    }),
  })
  await app.register(problemRoutes)
  await app.register(rulesRoutes, { rules, rulesDir: config.rulesDir })
  await app.register(cacheRoutes, { contacts, organizations: config.zoho.organizationIds, webhookSecret: config.webhookSecret })
  await app.register(riskRoutes, {
    decisions,
    defaultOrganization: config.zoho.organizationId,
    organizations: config.zoho.organizationIds,
    record: decisionRecorder(metrics),
  })
  return app
}

/**
 * The decision log: one line per decision with what it takes to audit and reproduce it
 * (the facts and the rules version), and the metrics by outcome and rule.
 */
function decisionRecorder(metrics: Metrics): DecisionRecorder {
  return (req, reply, decision, order) => {
    req.decisionLogged = true
    metrics.decisions.inc({ decision: decision.decision })
    for (const r of decision.reasons) metrics.rulesFired.inc({ rule: r.rule, type: r.severity })
    for (const a of decision.alerts) metrics.rulesFired.inc({ rule: a.rule, type: 'alert' })
    req.log.info(
      {
        decision_id: decision.decision_id,
        contact_id: decision.contact_id,
        organization_id: decision.organization_id,
        decision: decision.decision,
        reasons: decision.reasons.map((r) => r.code),
        alerts: decision.alerts.map((a) => a.code),
        rules_version: decision.rules_version,
        contact_source: decision.contact?.source ?? null,
        contact_age_seconds: decision.contact?.age_seconds ?? null,
        facts: decision.facts,
        order: order ?? null,
        caller: req.caller,
        latency_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'decision',
    )
  }
}

function watchRedis(redis: RedisLink, metrics: Metrics): void {
  metrics.redisDegraded.set(redis.up ? 0 : 1)
  if (!redis.up) metrics.redisDegradations.inc()
  redis.onChange((up) => {
    metrics.redisDegraded.set(up ? 0 : 1)
    if (!up) metrics.redisDegradations.inc()
  })
}

/** A rule set that never changes (tests hand one in). */
function fixedRules(ruleSet: RuleSet): RulesManager {
  return {
    current: () => ruleSet,
    lastError: undefined,
    fixtures: { passed: 0, failures: [] },
    reload: async () => ({ result: 'unchanged', version: ruleSet.version, fixtures: { passed: 0, failures: [] } }),
    close: () => {},
  }
}

/** Zoho for real, or (no credentials) the bundled sandbox started in-process on loopback. */
async function zohoEndpoints(app: FastifyInstance, config: Config) {
  if (config.zoho.credentials) {
    return { ...config.zoho, credentials: config.zoho.credentials, sandbox: false }
  }
  const sandbox = createSandbox()
  const url = await sandbox.listen(0, '127.0.0.1')
  app.addHook('onClose', () => sandbox.close())
  app.log.warn({ sandbox: url }, 'no Zoho credentials configured: using the bundled Zoho Books sandbox')
  return { accountsUrl: url, apiBaseUrl: sandbox.apiBaseUrl, credentials: SANDBOX_CREDENTIALS, sandbox: true }
}
