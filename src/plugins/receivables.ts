import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { createLocalReceivables } from '../adapters/local/receivables.js'
import { createRedisReceivables } from '../adapters/redis/receivables.js'
import type { Config } from '../config.js'
import { createReceivablesService, type ReceivablesReader } from '../services/receivables.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Open invoices and sales orders of the organizations whose rules read them, kept fresh in the background. */
    receivables: ReceivablesReader
  }
}

const receivablesPlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const registers = [app.metrics.registry]
  const refreshes = new Counter({
    name: 'creditgate_receivables_refreshes_total',
    help: 'Refreshes of the open invoices and sales orders, of an organization or one customer, by result',
    labelNames: ['kind', 'result'],
    registers,
  })
  for (const kind of ['organization', 'customer']) for (const result of ['ok', 'failed']) refreshes.inc({ kind, result }, 0)
  const local = createLocalReceivables()
  const service = createReceivablesService({
    source: app.zoho.receivables,
    store: app.shared.store({ local: () => local, redis: (link) => createRedisReceivables(link, local) }),
    refreshSeconds: config.receivables.refreshSeconds,
    staleSeconds: config.receivables.staleSeconds,
    firstWaitMs: config.zoho.timeoutMs * 3,
    log: app.log.child({ component: 'receivables' }),
    // The contact cache is one way to know which organization a webhook's customer belongs to.
    contactKnown: (org, contactId) => app.contacts.known(org, contactId),
    onRefresh: (result, kind) => refreshes.inc({ kind, result }),
  })
  new Gauge({
    name: 'creditgate_receivables_age_seconds',
    help: 'Age of the open invoices and sales orders in use, by organization (absent until read)',
    labelNames: ['organization'],
    registers,
    collect() {
      this.reset()
      for (const [org, age] of Object.entries(service.ages())) if (age !== null) this.set({ organization: org }, age)
    },
  })
  app.decorate('receivables', service)
  // Due refreshes are looked for several times per interval; one instance at a time does them.
  const timer = setInterval(() => void service.refreshDue(), Math.min(30_000, (config.receivables.refreshSeconds * 1000) / 4))
  timer.unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    service.stop()
  })
  app.lifecycle.addCheck('receivables', () => {
    const ages = Object.entries(service.ages())
    if (ages.length === 0) return { ok: true, detail: 'not in use: no rule reads receivables facts yet' }
    const stale = ages.filter(([, age]) => age === null || age > config.receivables.staleSeconds)
    return {
      ok: true,
      degraded: stale.length > 0,
      detail: ages.map(([org, age]) => `${org}: ${age === null ? 'not read yet' : `${age} s old`}`).join('; '),
    }
  })
}

export default fp(receivablesPlugin, { name: 'receivables', dependencies: ['metrics', 'lifecycle', 'redis', 'zoho', 'contacts'] })
