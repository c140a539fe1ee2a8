import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { createLocalPayments } from '../adapters/local/payments.js'
import { createRedisPayments } from '../adapters/redis/payments.js'
import type { Config } from '../config.js'
import { usesPayments } from '../rules/rule-set.js'
import { createPaymentsService, type PaymentsService } from '../services/payments.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Payment facts from the paid invoices of the organizations whose rules read them, passed over in the background. */
    payments: PaymentsService
  }
}

const paymentsPlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const registers = [app.metrics.registry]
  const refreshes = new Counter({
    name: 'creditgate_payment_facts_refreshes_total',
    help: 'Passes over an organization’s paid invoices of the last 12 months, by result',
    labelNames: ['result'],
    registers,
  })
  for (const result of ['ok', 'failed']) refreshes.inc({ result }, 0)
  const local = createLocalPayments()
  const service = createPaymentsService({
    source: app.zoho.payments,
    store: app.shared.store({ local: () => local, redis: (link) => createRedisPayments(link, local) }),
    refreshSeconds: config.payments.refreshSeconds,
    staleSeconds: config.payments.staleSeconds,
    timeZone: (org) => app.zoho.settings(org).timeZone,
    firstWaitMs: config.zoho.timeoutMs * 3,
    // Passes only while the active or shadow set reads payment facts.
    inUse: () => [...app.rules.all(), ...app.shadow.ruleSets()].some(usesPayments),
    log: app.log.child({ component: 'payments' }),
    onRefresh: (result) => refreshes.inc({ result }),
  })
  new Gauge({
    name: 'creditgate_payment_facts_age_seconds',
    help: 'Age of the payment facts in use, by organization (absent until read)',
    labelNames: ['organization'],
    registers,
    collect() {
      this.reset()
      for (const [org, age] of Object.entries(service.ages())) if (age !== null) this.set({ organization: org }, age)
    },
  })
  app.decorate('payments', service)
  const timer = setInterval(() => void service.refreshDue(), 30_000)
  timer.unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    service.stop()
  })
  app.lifecycle.addCheck('payments', () => {
    const ages = Object.entries(service.ages())
    if (ages.length === 0) return { ok: true, detail: 'not in use: no rule reads payment facts yet' }
    const stale = ages.filter(([, age]) => age === null || age > config.payments.staleSeconds)
    return {
      ok: true,
      degraded: stale.length > 0,
      detail: ages.map(([org, age]) => `${org}: ${age === null ? 'not read yet' : `${age} s old`}`).join('; '),
    }
  })
}

export default fp(paymentsPlugin, { name: 'payments', dependencies: ['metrics', 'lifecycle', 'redis', 'zoho', 'rules', 'shadow'] })
