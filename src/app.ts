import type { FastifyPluginAsync } from 'fastify'
import type { Config } from './config.js'
import access from './plugins/access.js'
import audit from './plugins/audit.js'
import cases, { type CaseTiming } from './plugins/cases.js'
import contacts from './plugins/contacts.js'
import decisions from './plugins/decisions.js'
import docs from './plugins/docs.js'
import errors from './plugins/errors.js'
import groupExposure from './plugins/group-exposure.js'
import headers from './plugins/headers.js'
import history from './plugins/history.js'
import lifecycle from './plugins/lifecycle.js'
import metrics from './plugins/metrics.js'
import payments from './plugins/payments.js'
import receivables from './plugins/receivables.js'
import redis from './plugins/redis.js'
import reservations from './plugins/reservations.js'
import rules from './plugins/rules.js'
import shadow from './plugins/shadow.js'
import zoho from './plugins/zoho.js'
import { auditRoutes } from './routes/audit.js'
import { authRoutes } from './routes/auth.js'
import { cacheRoutes } from './routes/cache.js'
import { caseRoutes } from './routes/cases.js'
import { consoleRoutes } from './routes/console.js'
import { factRoutes } from './routes/facts.js'
import { healthRoutes } from './routes/health.js'
import { historyRoutes } from './routes/history.js'
import { paymentsRoutes } from './routes/payments.js'
import { portfolioRoutes } from './routes/portfolio.js'
import { problemRoutes } from './routes/problems.js'
import { receivablesRoutes } from './routes/receivables.js'
import { reservationRoutes } from './routes/reservations.js'
import { riskRoutes } from './routes/risk.js'
import { rulesRoutes } from './routes/rules.js'
import type { RuleSet } from './rules/rule-set.js'
import type { Evaluate } from './rules/semantics.js'
import type { ContactCache, ContactSource } from './services/contacts.js'

/** What a test may hand in instead of the real thing. */
export interface AppDeps {
  /** Replaces the Zoho adapter (tests of everything above it). */
  contactSource: ContactSource
  cache: ContactCache
  ruleSet: RuleSet
  /** Replaces the rule evaluator (tests of the decision path's own guards). */
  evaluate: Evaluate
  /** Shortens the callback worker's tick and retry delays. */
  caseTiming: Partial<CaseTiming>
  /** The reservations' clock (ms): tests of expiry move it. */
  reservationClock: () => number
}

export interface AppOptions {
  config: Config
  deps?: Partial<AppDeps> | undefined
}

/**
 * creditgate as a plugin: the plugins that own each resource, then the routes. server.ts
 * registers it into a Fastify instance it configured; so do the tests.
 */
export const app: FastifyPluginAsync<AppOptions> = async (app, { config, deps = {} }) => {
  // Requests: problems for every error, request id and security headers, who may call what.
  await app.register(errors)
  await app.register(headers)
  await app.register(lifecycle)
  await app.register(metrics)
  await app.register(redis, { config })
  await app.register(access, { config })
  await app.register(audit)
  // What a decision needs.
  await app.register(rules, { config, ruleSet: deps.ruleSet })
  await app.register(zoho, { config, contactSource: deps.contactSource })
  await app.register(contacts, { config, cache: deps.cache })
  await app.register(receivables, { config })
  await app.register(history, { config })
  await app.register(shadow, { config, evaluate: deps.evaluate })
  await app.register(cases, { config, timing: deps.caseTiming })
  await app.register(reservations, { config, now: deps.reservationClock })
  await app.register(payments, { config })
  await app.register(groupExposure, { config })
  await app.register(decisions, { config, evaluate: deps.evaluate })
  // The API.
  await app.register(docs)
  await app.register(healthRoutes)
  await app.register(problemRoutes)
  await app.register(rulesRoutes, { rulesDir: config.rulesDir })
  await app.register(factRoutes)
  await app.register(cacheRoutes, { webhookSecret: config.webhookSecret })
  await app.register(riskRoutes)
  await app.register(caseRoutes)
  await app.register(historyRoutes, { rulesDir: config.rulesDir })
  await app.register(auditRoutes)
  await app.register(receivablesRoutes)
  await app.register(portfolioRoutes)
  await app.register(reservationRoutes)
  await app.register(paymentsRoutes, { config })
  await app.register(consoleRoutes)
  await app.register(authRoutes, { oidc: config.oidc })
}
