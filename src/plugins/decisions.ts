import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import type { Evaluate } from '../rules/evaluate.js'
import { createDecisionService, type DecisionService } from '../services/decisions.js'

declare module 'fastify' {
  interface FastifyInstance {
    decisions: DecisionService
  }
}

const decisionsPlugin: FastifyPluginAsync<{ config: Config; evaluate?: Evaluate | undefined }> = async (app, options) => {
  app.decorate(
    'decisions',
    createDecisionService({
      contacts: app.contacts,
      receivables: app.receivables,
      timeZone: options.config.receivables.timeZone,
      rules: app.rules.current,
      failMode: options.config.failMode,
      evaluate: options.evaluate,
      // After the answer: the history records the decision, the shadow set evaluates it.
      onDecision: (decided) =>
        setImmediate(() => {
          for (const observe of [app.history.observe, app.shadow.observe]) {
            try {
              observe(decided)
            } catch (err) {
              app.log.warn({ err, decision_id: decided.decision.decision_id }, 'recording a decision failed')
            }
          }
        }),
    }),
  )
}

export default fp(decisionsPlugin, { name: 'decisions', dependencies: ['contacts', 'receivables', 'rules', 'history', 'shadow'] })
