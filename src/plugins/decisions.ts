import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import type { Config } from '../config.js'
import type { Evaluate, Evaluation } from '../rules/semantics.js'
import { createDecisionService, type DecisionService } from '../services/decisions.js'

declare module 'fastify' {
  interface FastifyInstance {
    decisions: DecisionService
  }
}

const outcome = ({ decision, fired, reasons, alerts }: Evaluation) => ({ decision, fired, reasons, alerts })

const decisionsPlugin: FastifyPluginAsync<{ config: Config; evaluate?: Evaluate | undefined }> = async (app, options) => {
  const disagreements = new Counter({
    name: 'creditgate_rules_verify_disagreements_total',
    help: 'Sampled evaluations (RULES_VERIFY_SAMPLE) where the compiled rules and json-rules-engine disagreed; json-rules-engine answered',
    registers: [app.metrics.registry],
  })
  const log = app.log.child({ component: 'rules-verify' })
  const decisions = createDecisionService({
    contacts: app.contacts,
    receivables: app.receivables,
    payments: app.payments,
    groups: app.groupExposure,
    creditFields: options.config.payments.fields,
    timeZone: (org) => app.zoho.settings(org).timeZone,
    baseCurrency: app.zoho.baseCurrency,
    rules: (org) => app.rules.for(org).current(),
    failMode: options.config.failMode,
    hold: app.reservations.hold,
    evaluate: options.evaluate,
    verifySample: options.config.rulesVerifySample,
    onDisagreement: ({ ruleSet, facts: { contact: _, ...facts }, compiled, reference }) => {
      disagreements.inc()
      log.error(
        { rules_version: ruleSet.version, facts, compiled: outcome(compiled), json_rules_engine: outcome(reference) },
        'the compiled rules disagree with json-rules-engine: answered with json-rules-engine, and will for this rules version',
      )
    },
    settle: app.cases.settle,
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
  })
  app.decorate('decisions', decisions)
  app.lifecycle.addCheck('rules_verify', () => {
    const version = app.rules
      .all()
      .map((set) => set.version)
      .find((v) => decisions.untrusted(v))
    return version
      ? { ok: true, degraded: true, detail: `the compiled rules of ${version} disagreed with json-rules-engine, which now decides` }
      : { ok: true, detail: `compiled rules, ${options.config.rulesVerifySample} of evaluations checked by json-rules-engine` }
  })
}

export default fp(decisionsPlugin, {
  name: 'decisions',
  dependencies: [
    'contacts',
    'receivables',
    'payments',
    'group-exposure',
    'rules',
    'metrics',
    'lifecycle',
    'history',
    'shadow',
    'cases',
    'reservations',
  ],
})
