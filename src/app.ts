import { randomUUID } from 'node:crypto'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod'
import pino, { type DestinationStream } from 'pino'
import { type CacheEntry, type ContactCache, createMemoryCache } from './adapters/contact-cache.js'
import { connectRedis } from './adapters/redis.js'
import { createRedisBudget } from './adapters/redis-budget.js'
import { createRedisCache, createResilientCache } from './adapters/redis-cache.js'
import { createRedisFlight } from './adapters/redis-flight.js'
import { createSharedTokens } from './adapters/redis-tokens.js'
import { type ContactSource, createZohoBooks } from './adapters/zoho-books.js'
import { createLocalBudget } from './adapters/zoho-budget.js'
import { createLocalTokens, createTokenMinter } from './adapters/zoho-token.js'
import type { Config } from './config.js'
import { isProblem, PROBLEMS, Problem, type ProblemCode, problemType } from './errors.js'
import { loggerOptions } from './logging.js'
import { addOpenApiExamples } from './openapi-examples.js'
import { createAuth, SECURITY_SCHEMES } from './routes/auth.js'
import { cacheRoutes } from './routes/cache.js'
import { healthRoutes } from './routes/health.js'
import { riskRoutes } from './routes/risk.js'
import { rulesRoutes } from './routes/rules.js'
import type { ProblemBody } from './routes/schemas.js'
import { EvaluationError } from './rules/evaluate.js'
import { createRulesManager, type RulesManager } from './rules/manager.js'
import type { RuleSet } from './rules/rule-set.js'
import { SANDBOX_CREDENTIALS } from './sandbox/contacts.js'
import { createSandbox } from './sandbox/sandbox.js'
import { createContactService } from './services/contacts.js'
import { createDecisionService } from './services/decisions.js'

export interface AppDeps {
  /** Replaces the Zoho adapter (tests of everything above it). */
  contactSource: ContactSource
  cache: ContactCache
  ruleSet: RuleSet
}

export interface BuildOptions {
  config: Config
  deps?: Partial<AppDeps>
  /** Where log lines go (tests capture them); default stdout. */
  logStream?: DestinationStream
}

export const API_VERSION = '1.0.0'

declare module 'fastify' {
  interface FastifyInstance {
    /** The active rules; server.ts reloads them on SIGHUP. */
    rules: RulesManager
  }
}

/** The composition root: real adapters from config unless a test hands others in. */
export async function buildApp({ config, deps = {}, logStream }: BuildOptions): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = pino(loggerOptions(config.logLevel), logStream ?? pino.destination(1))
  const app = Fastify({
    loggerInstance: logger,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID()
    },
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 200 },
  })
  // JSON only: fastify's default text/plain parser would let a mislabelled body through.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id)
  })
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })

  const rules: RulesManager = deps.ruleSet
    ? fixedRules(deps.ruleSet)
    : await createRulesManager({ dir: config.rulesDir, log: app.log.child({ component: 'rules' }) })
  app.addHook('onClose', async () => rules.close())
  app.decorate('rules', rules)
  const zoho = await zohoEndpoints(app, config)
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, app.log.child({ component: 'redis' })) : undefined
  if (redis) app.addHook('onClose', () => redis.close())
  else if (!deps.cache) app.log.warn('REDIS_URL is not set: contacts are cached in this process only')

  const limits = {
    requestsPerMinute: config.zoho.requestsPerMinute,
    maxConcurrency: config.zoho.maxConcurrency,
    waitMs: config.zoho.timeoutMs,
  }
  const budget = redis ? createRedisBudget(redis, limits) : createLocalBudget(limits)
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
    })
  const memory = createMemoryCache()
  // A refilled copy keeps what is left of its stale horizon.
  const remainingTtl = (entry: CacheEntry) =>
    Math.max(1, config.cache.staleTtlSeconds - Math.floor((Date.now() - Date.parse(entry.fetched_at)) / 1000))
  const cache =
    deps.cache ?? (redis ? createResilientCache(redis, createRedisCache(redis, app.log), memory, app.log, remainingTtl) : memory)
  const contacts = createContactService({
    cache,
    source,
    ttlSeconds: config.cache.ttlSeconds,
    staleTtlSeconds: config.cache.staleTtlSeconds,
    log: app.log.child({ component: 'contacts' }),
    flight: redis ? createRedisFlight(redis, app.log) : undefined,
    flightWaitMs: config.zoho.timeoutMs * 3 + 5000,
  })
  const decisions = createDecisionService({ contacts, rules: rules.current, failMode: config.failMode })

  if (config.apiKeys.length === 0) {
    app.log.warn('API_KEYS is not set: the decision API is open to anyone who can reach it')
  }
  app.addHook('onRequest', createAuth(config.apiKeys, config.adminApiKeys))

  app.setNotFoundHandler((req, reply) => {
    sendProblem(reply, new Problem('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`), req.id)
  })
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const problem = toProblem(err)
    if (problem.status >= 500 && problem.code !== 'upstream_unavailable') req.log.error({ err }, 'request failed')
    else req.log.info({ code: problem.code, detail: problem.detail }, 'request refused')
    sendProblem(reply, problem, req.id)
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
        { name: 'operations', description: 'Health and readiness' },
      ],
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => addOpenApiExamples(jsonSchemaTransformObject(doc)),
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true, persistAuthorization: true } })

  await app.register(healthRoutes, {
    shuttingDown: () => closing,
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
  await app.register(rulesRoutes, { rules, rulesDir: config.rulesDir })
  await app.register(cacheRoutes, { contacts, organizations: config.zoho.organizationIds, webhookSecret: config.webhookSecret })
  await app.register(riskRoutes, {
    decisions,
    defaultOrganization: config.zoho.organizationId,
    organizations: config.zoho.organizationIds,
  })

  return app
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

type ReplyLike = {
  code(n: number): ReplyLike
  header(k: string, v: string): ReplyLike
  type(t: string): ReplyLike
  send(b: string): unknown
}

export function sendProblem(reply: unknown, problem: Problem, requestId: string): void {
  const r = reply as ReplyLike
  const body: ProblemBody = {
    type: problemType(problem.code),
    title: PROBLEMS[problem.code].title,
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
    request_id: requestId,
  }
  if (problem.retryAfterSeconds !== undefined) r.header('retry-after', String(problem.retryAfterSeconds))
  if (problem.status === 401) r.header('www-authenticate', 'Bearer')
  r.code(problem.status).type('application/problem+json').send(JSON.stringify(body))
}

const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
}

/** Everything a handler can throw, as one of the catalogue's problems. */
export function toProblem(err: FastifyError): Problem {
  if (isProblem(err)) return err
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = err.validationContext ?? 'request'
    const first = err.validation[0]
    const field = [context, ...(first?.instancePath ?? '').split('/').filter(Boolean)].join('.')
    const detail =
      first?.message?.endsWith('received null') && field === 'body'
        ? 'body: send a JSON object'
        : `${field}: ${first?.message ?? 'invalid'}`
    return new Problem(context === 'params' ? 'invalid_contact_id' : 'invalid_request', detail)
  }
  if (err instanceof EvaluationError)
    return new Problem('evaluation_failed', 'the rules could not be evaluated completely; no decision was made', { cause: err })
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined
  if (mapped) return new Problem(mapped, err.message)
  if (err.statusCode === 429) return new Problem('rate_limited', err.message, { retryAfterSeconds: 60 })
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new Problem('invalid_request', err.message)
  return new Problem('internal_error', 'an unexpected error occurred; the log has the details under this request_id', { cause: err })
}
