import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { createMemoryHistory } from '../adapters/memory-history.js'
import { createRedisHistory } from '../adapters/redis/history.js'
import type { Config } from '../config.js'
import { createBacktester, type Backtester } from '../rules/backtest.js'
import type { Decided } from '../services/decisions.js'
import { createHistoryService, type HistoryService } from '../services/history.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every decision with its facts: a Redis stream per organization, or an in-process ring. */
    history: HistoryService & {
      /** Records a decision the decision service just made (called after the answer). */
      observe(decided: Decided): void
    }
    backtests: Backtester
  }
}

const historyPlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const max = config.decisionHistoryMax
  const local = createMemoryHistory(max)
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
  })
  app.decorate('backtests', backtests)
  app.addHook('onClose', async () => {
    await service.flush()
    await backtests.close()
  })
}

export default fp(historyPlugin, { name: 'history', dependencies: ['redis', 'zoho'] })
