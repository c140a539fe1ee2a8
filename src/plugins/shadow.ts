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
import type { ReloadFailure, WatchedRules } from '../services/rule-sets/manager.js'
import { watchFolders } from '../services/rule-sets/organizations.js'

export interface ShadowSummary extends Comparison {
  configured: boolean
  organization_id: string | null
  version: string | null
  loaded_at: string | null
  last_error: ReloadFailure | null
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * RULES_SHADOW_DIR: a second set evaluated beside every live decision, after the answer, never
     * changing it; RULES_SHADOW_DIR/<organization_id>/ for an organization's decisions.
     */
    shadow: {
      observe(decided: Decided): void
      /** The comparison for the organization's decisions (undefined: the shared shadow set's). */
      summary(org?: string): ShadowSummary
      /** The shadow set now loaded for the organization's decisions (undefined: the shared one), if any. */
      ruleSet(org?: string): RuleSet | undefined
      /** Every shadow set now loaded. */
      ruleSets(): RuleSet[]
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
      ruleSets: () => [],
      summary: (org?: string) => ({
        configured: false,
        organization_id: org ?? null,
        version: null,
        loaded_at: null,
        last_error: null,
        ...createComparison(NO_RULES).result(),
      }),
    })
    return
  }
  const log = app.log.child({ component: 'shadow-rules' })
  // The same loader as the live rules (validated, fixture-gated, hot-reloaded), with their validator;
  // a broken shadow set leaves the shadow set at its last good version, or without rules.
  const sets = await watchFolders({
    dir,
    log,
    validator: { check: app.rules.check },
    organizations: options.config.zoho.organizationIds ?? [],
    required: false,
  })
  app.addHook('onClose', async () => sets.close())
  const evaluate = checkedEvaluate(options.evaluate)
  /**
   * The shadow folder an organization's decisions are compared with: its own, else — only while
   * the shared live set decides for it — the shared one. An organization with live rules of its
   * own is never compared with a set written for the others.
   */
  const folderFor = (org: string | undefined): WatchedRules | undefined => {
    if (org === undefined) return sets.shared
    return sets.own(org) ?? (app.rules.organizations().includes(org) ? undefined : sets.shared)
  }
  /**
   * Counts since the shadow set now loaded was loaded: per organization (its decisions only), and
   * under `` for all decisions compared with the shared shadow set.
   */
  const counted = new Map<string, { version: string; comparison: ReturnType<typeof createComparison> }>()
  const countsOf = (key: string, shadow: RuleSet) => {
    let counts = counted.get(key)
    if (shadow.version !== counts?.version) {
      counts = { version: shadow.version, comparison: createComparison(shadow) }
      counted.set(key, counts)
    }
    return counts.comparison
  }
  const current = (org: string | undefined) => {
    const folder = folderFor(org)
    const shadow = folder?.current()
    if (!shadow) return { folder, shadow, comparisons: [] }
    const comparisons = [countsOf(org ?? '', shadow)]
    if (org !== undefined && folder === sets.shared) comparisons.push(countsOf('', shadow))
    return { folder, shadow, comparisons }
  }
  app.decorate('shadow', {
    ruleSet: (org?: string) => folderFor(org)?.current(),
    ruleSets: () => [sets.shared.current(), ...sets.organizations().map((org) => sets.own(org)?.current())].filter((s) => s !== undefined),
    observe({ decision, facts }: Decided) {
      const { shadow, comparisons } = current(decision.organization_id)
      if (!shadow) return
      if (lacksFacts(shadow, facts)) {
        for (const comparison of comparisons) comparison.add(decision, undefined)
        return
      }
      Promise.resolve(evaluate(shadow, facts as Facts)).then(
        (evaluation) => {
          for (const comparison of comparisons) comparison.add(decision, evaluation)
          outcomes.inc({ live: decision.decision, shadow: evaluation.decision })
        },
        (err) => log.warn({ err, decision_id: decision.decision_id }, 'shadow evaluation failed'),
      )
    },
    summary(org?: string) {
      const { folder, shadow, comparisons } = current(org)
      return {
        configured: true,
        organization_id: org ?? null,
        version: shadow?.version ?? null,
        loaded_at: shadow?.loadedAt ?? null,
        last_error: folder?.lastError ?? null,
        ...(comparisons[0] ?? createComparison(NO_RULES)).result(),
      }
    },
  })
}

const NO_RULES: RuleSet = { version: '', loadedAt: '', rules: [], inputs: [] }

export default fp(shadowPlugin, { name: 'shadow', dependencies: ['metrics', 'rules'] })
