import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { createMemoryHistory } from '../adapters/memory-history.js'
import { createRedisHistory } from '../adapters/redis/history.js'
import type { Config } from '../config.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Decided } from '../services/decisions.js'
import { createHistoryService, type HistoryRange, type HistoryService, historyChunks } from '../services/history.js'
import { type Backtester, createBacktester } from '../services/rule-sets/backtest.js'
import type { Comparison } from '../services/rule-sets/compare.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every decision with its facts: a Redis stream per organization, or an in-process ring. */
    history: HistoryService & {
      /** Records a decision the decision service just made (called after the answer). */
      observe(decided: Decided): void
      /** Compares a rule set with the newest `limit` recorded decisions in the range, off the event loop. */
      backtest(ruleSet: RuleSet, range: HistoryRange, limit: number): Promise<Comparison>
    }
    backtests: Backtester
  }
}

const historyPlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const max = config.decisionHistoryMax
  const local = createMemoryHistory(max)
  const redis = app.shared.link
  const service = createHistoryService({
    store: app.shared.store({ alone: () => local, redis: (link) => createRedisHistory(link, local, max) }),
    organizations: () => app.zoho.organizations,
    log: app.log.child({ component: 'history' }),
  })
  const backtests = createBacktester()
  app.decorate('history', {
    ...service,
    observe({ input, decision }: Decided) {
      // What the decision log line holds: the facts without the raw contact, the order, the caller.
      service.record({
        decision_id: decision.decision_id,
        organization_id: decision.organization_id,
        contact_id: decision.contact_id,
        caller: input.caller ?? 'unknown',
        order: input.order ?? null,
        facts: decision.facts,
        rules_version: decision.rules_version,
        decision: decision.decision,
        reasons: decision.reasons,
        alerts: decision.alerts,
        evaluated_at: decision.evaluated_at,
      })
    },
    backtest(ruleSet, range, limit) {
      if (!redis?.up || !config.redis) return backtests.run(ruleSet, { records: service.chunks(range, limit), limit })
      // The worker reads the streams itself, newest first; what only this process kept (Redis was
      // down) comes from here, after them, while fewer than `limit` were compared.
      const organizations = service.organizations()
      return backtests.run(ruleSet, {
        redis: { target: config.redis, organizations, range, limit },
        records: historyChunks(local, organizations, range, limit),
        limit,
      })
    },
  })
  app.decorate('backtests', backtests)
  app.addHook('onClose', async () => {
    await service.flush()
    await backtests.close()
  })
}

export default fp(historyPlugin, { name: 'history', dependencies: ['redis', 'zoho'] })
