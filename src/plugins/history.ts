import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createLocalHistory } from '../adapters/local/history.js'
import { createRedisHistory } from '../adapters/redis/history.js'
import type { Config } from '../config.js'
import type { FieldsRead } from '../domain/history.js'
import { customFieldsRead, type RuleSet } from '../rules/rule-set.js'
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
      backtest(ruleSet: RuleSet, range: HistoryRange, limit: number, organizations: readonly string[]): Promise<Comparison>
    }
    backtests: Backtester
  }
}

const historyPlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const max = config.decisionHistoryMax
  const local = createLocalHistory(max)
  const redis = app.shared.link
  const cuts = new Counter({
    name: 'creditgate_history_cut_total',
    help: 'What was cut from decision records to keep them within their bounds: records cut, and the custom fields, texts and reasons left out or shortened',
    labelNames: ['part'],
    registers: [app.metrics.registry],
  })
  for (const part of ['record', 'custom_field', 'text', 'reason']) cuts.inc({ part }, 0)
  /** The custom fields the active and shadow rules (of every organization) read, worked out again only when a set changes. */
  let read: { sets: readonly RuleSet[]; fields: FieldsRead } = { sets: [], fields: customFieldsRead() }
  const fieldsRead = () => {
    // The shadow plugin registers after this one: decisions are recorded only once both are there.
    const sets = [...app.rules.all(), ...app.shadow.ruleSets()]
    if (sets.length !== read.sets.length || sets.some((set, i) => set !== read.sets[i])) read = { sets, fields: customFieldsRead(...sets) }
    return read.fields
  }
  const service = createHistoryService({
    store: app.shared.store({ local: () => local, redis: (link) => createRedisHistory(link, local, max) }),
    organizations: () => app.zoho.organizations,
    fieldsRead,
    onCut: (cut) => {
      cuts.inc({ part: 'record' })
      if (cut.custom_fields) cuts.inc({ part: 'custom_field' }, cut.custom_fields)
      if (cut.texts) cuts.inc({ part: 'text' }, cut.texts)
      if (cut.reasons) cuts.inc({ part: 'reason' }, cut.reasons)
    },
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
        // Who let a held order through, and what the rules said: the audit trail of a release.
        ...(decision.case ? { case: decision.case } : {}),
        ...(decision.release ? { release: decision.release, overridden: decision.overridden ?? [] } : {}),
      })
    },
    backtest(ruleSet, range, limit, organizations) {
      // Only these organizations' decisions: a set is never compared with decisions made under another organization's rules.
      if (!redis?.up || !config.redis)
        return backtests.run(ruleSet, { records: service.chunks(range, limit, undefined, organizations), limit })
      // The worker reads the streams itself, newest first; what only this process kept (Redis was
      // down) comes from here, after them, while fewer than `limit` were compared.
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

export default fp(historyPlugin, { name: 'history', dependencies: ['redis', 'zoho', 'rules', 'metrics'] })
