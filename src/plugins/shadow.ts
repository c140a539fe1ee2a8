import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import type { Config } from '../config.js'
import { DECISIONS } from '../domain/decision.js'
import type { Facts } from '../domain/facts.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Evaluate } from '../rules/semantics.js'
import { checkedEvaluate, type Decided } from '../services/decisions.js'
import { type Comparison, createComparison, lacksFacts } from '../services/rule-sets/compare.js'
import { type ReloadFailure, watchRules } from '../services/rule-sets/manager.js'

export interface ShadowSummary extends Comparison {
  configured: boolean
  version: string | null
  loaded_at: string | null
  last_error: ReloadFailure | null
}

declare module 'fastify' {
  interface FastifyInstance {
    /** RULES_SHADOW_DIR: a second set evaluated beside every live decision, after the answer, never changing it. */
    shadow: {
      observe(decided: Decided): void
      summary(): ShadowSummary
      /** The shadow set now loaded, if any. */
      ruleSet(): RuleSet | undefined
    }
  }
}

const shadowPlugin: FastifyPluginAsync<{ config: Config; evaluate?: Evaluate | undefined }> = async (app, options) => {
  const outcomes = new Counter({
    name: 'creditgate_shadow_decisions_total',
    help: 'Live decisions by their outcome and the shadow set’s outcome on the same facts',
    labelNames: ['live', 'shadow'],
    registers: [app.metrics.registry],
  })
  for (const live of DECISIONS) for (const shadow of DECISIONS) outcomes.inc({ live, shadow }, 0)
  const dir = options.config.rulesShadowDir
  if (!dir) {
    app.decorate('shadow', {
      observe: () => {},
      ruleSet: () => undefined,
      summary: () => ({ configured: false, version: null, loaded_at: null, last_error: null, ...createComparison(NO_RULES).result() }),
    })
    return
  }
  const log = app.log.child({ component: 'shadow-rules' })
  // The same loader as the live rules (validated, fixture-gated, hot-reloaded), with their validator;
  // a broken shadow set leaves the shadow set at its last good version, or without rules.
  const rules = await watchRules({ dir, log, validator: { check: app.rules.check } })
  app.addHook('onClose', async () => rules.close())
  const evaluate = checkedEvaluate(options.evaluate)
  /** Counts since the shadow set now loaded was loaded. */
  let counted = { version: '', comparison: createComparison(NO_RULES) }
  const current = () => {
    const shadow = rules.current()
    if (shadow && shadow.version !== counted.version) counted = { version: shadow.version, comparison: createComparison(shadow) }
    return shadow
  }
  app.decorate('shadow', {
    ruleSet: () => rules.current(),
    observe({ decision, facts }: Decided) {
      const shadow = current()
      if (!shadow) return
      const { comparison } = counted
      if (lacksFacts(shadow, facts)) return comparison.add(decision, undefined)
      Promise.resolve(evaluate(shadow, facts as Facts)).then(
        (evaluation) => {
          comparison.add(decision, evaluation)
          outcomes.inc({ live: decision.decision, shadow: evaluation.decision })
        },
        (err) => log.warn({ err, decision_id: decision.decision_id }, 'shadow evaluation failed'),
      )
    },
    summary() {
      const shadow = current()
      return {
        configured: true,
        version: shadow?.version ?? null,
        loaded_at: shadow?.loadedAt ?? null,
        last_error: rules.lastError ?? null,
        ...counted.comparison.result(),
      }
    },
  })
}

const NO_RULES: RuleSet = { version: '', loadedAt: '', rules: [], inputs: [] }

export default fp(shadowPlugin, { name: 'shadow', dependencies: ['metrics', 'rules'] })
