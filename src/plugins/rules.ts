import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import type { Config } from '../config.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { RulesManager } from '../services/rule-sets/manager.js'
import { fixedOrganizationRules, type OrganizationRules, organizationRules, watchFolders } from '../services/rule-sets/organizations.js'
import { createRuleValidator, type RuleValidator } from '../services/rule-sets/validator.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The active rules, hot-reloaded from RULES_DIR (the shared set, and RULES_DIR/<organization_id>/
     * for organizations with a set of their own); server.ts reloads them on SIGHUP too.
     */
    rules: OrganizationRules
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
  const own = new Gauge({
    name: 'creditgate_organization_rules_info',
    help: 'The active rule set of each organization with a set of its own (labels organization_id, version)',
    labelNames: ['organization_id', 'version'],
    registers,
  })
  for (const result of ['activated', 'unchanged', 'rejected']) reloads.inc({ result }, 0)
  const validator = createRuleValidator()
  const versions = () => {
    info.reset()
    info.set({ version: rules.current().version }, 1)
    own.reset()
    for (const org of rules.organizations()) own.set({ organization_id: org, version: rules.for(org).current().version }, 1)
  }
  const rules: OrganizationRules = options.ruleSet
    ? fixedOrganizationRules(fixedRules(options.ruleSet, validator))
    : organizationRules(
        await watchFolders({
          dir: options.config.rulesDir,
          organizations: options.config.zoho.organizationIds ?? [],
          required: true,
          log: app.log.child({ component: 'rules' }),
          validator,
          onReload: (_org, result) => {
            reloads.inc({ result })
            versions()
          },
        }),
      )
  versions()
  app.decorate('rules', rules)
  app.addHook('onClose', async () => {
    rules.close()
    await validator.close()
  })
  app.lifecycle.addCheck('rules', () => {
    const { rules: loaded, version } = rules.current()
    const rejected = [undefined, ...rules.organizations()].filter((org) => (org ? rules.for(org) : rules).lastError !== undefined)
    const where = rejected.map((org) => (org ? `organization ${org}` : 'the shared set')).join(', ')
    return {
      ok: true,
      degraded: rejected.length > 0,
      detail: `${loaded.length} rules, ${version}${rules.organizations().length > 0 ? `; own sets: ${rules.organizations().join(', ')}` : ''}${rejected.length > 0 ? `; the last change was rejected for ${where}: see GET /rules` : ''}`,
    }
  })
}

export default fp(rulesPlugin, { name: 'rules', dependencies: ['metrics', 'lifecycle'] })
