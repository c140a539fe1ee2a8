import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import type { Config } from '../config.js'
import type { RuleSet } from '../rules/rule-set.js'
import { createRulesManager, type RulesManager } from '../services/rule-sets/manager.js'
import { createRuleValidator, type RuleValidator } from '../services/rule-sets/validator.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The active rules, hot-reloaded from RULES_DIR; server.ts reloads them on SIGHUP too. */
    rules: RulesManager
  }
}

/** A rule set that never changes (tests hand one in). */
function fixedRules(ruleSet: RuleSet, validator: RuleValidator): RulesManager {
  return {
    current: () => ruleSet,
    lastError: undefined,
    fixtures: { passed: 0, failures: [] },
    reload: async () => ({ result: 'unchanged', version: ruleSet.version, fixtures: { passed: 0, failures: [] } }),
    check: validator.check,
    close: () => {},
  }
}

const rulesPlugin: FastifyPluginAsync<{ config: Config; ruleSet?: RuleSet | undefined }> = async (app, options) => {
  const registers = [app.metrics.registry]
  const reloads = new Counter({ name: 'creditgate_rule_reloads_total', help: 'Rule reloads by result', labelNames: ['result'], registers })
  const info = new Gauge({ name: 'creditgate_rules_info', help: 'The active rule set (label version)', labelNames: ['version'], registers })
  for (const result of ['activated', 'unchanged', 'rejected']) reloads.inc({ result }, 0)
  const validator = createRuleValidator()
  const rules: RulesManager = options.ruleSet
    ? fixedRules(options.ruleSet, validator)
    : await createRulesManager({
        dir: options.config.rulesDir,
        log: app.log.child({ component: 'rules' }),
        validator,
        onReload: (result) => {
          reloads.inc({ result })
          info.reset()
          info.set({ version: rules.current().version }, 1)
        },
      })
  info.set({ version: rules.current().version }, 1)
  app.decorate('rules', rules)
  app.addHook('onClose', async () => {
    rules.close()
    await validator.close()
  })
  app.lifecycle.addCheck('rules', () => {
    const { rules: loaded, version } = rules.current()
    return {
      ok: true,
      degraded: rules.lastError !== undefined,
      detail: `${loaded.length} rules, ${version}${rules.lastError ? '; the last change was rejected: see GET /rules' : ''}`,
    }
  })
}

export default fp(rulesPlugin, { name: 'rules', dependencies: ['metrics', 'lifecycle'] })
