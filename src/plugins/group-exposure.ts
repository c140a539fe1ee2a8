import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { createLocalGroupBalances } from '../adapters/local/group-balances.js'
import { createRedisGroupBalances } from '../adapters/redis/group-balances.js'
import type { Config } from '../config.js'
import { usesGroup } from '../rules/rule-set.js'
import { createGroupExposureService, type GroupExposureService } from '../services/group-exposure.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** group_exposure_bcy: the grouped organizations' contacts, listed in the background while a rule reads it. */
    groupExposure: GroupExposureService
  }
}

const groupExposurePlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const registers = [app.metrics.registry]
  const refreshes = new Counter({
    name: 'creditgate_group_listings_total',
    help: 'Listings of a grouped organization’s contacts (group exposure), by result',
    labelNames: ['result'],
    registers,
  })
  for (const result of ['ok', 'failed']) refreshes.inc({ result }, 0)
  const local = createLocalGroupBalances()
  const service = createGroupExposureService({
    source: app.zoho.groups,
    store: app.shared.store({ local: () => local, redis: (link) => createRedisGroupBalances(link, local) }),
    groups: config.groups,
    refreshSeconds: config.receivables.refreshSeconds,
    staleSeconds: config.receivables.staleSeconds,
    firstWaitMs: config.zoho.timeoutMs * 3,
    inUse: () => [...app.rules.all(), ...app.shadow.ruleSets()].some(usesGroup),
    log: app.log.child({ component: 'group-exposure' }),
    onRefresh: (result) => refreshes.inc({ result }),
  })
  new Gauge({
    name: 'creditgate_group_listing_age_seconds',
    help: 'Age of the contact listing group exposure reads, by organization (absent until read)',
    labelNames: ['organization'],
    registers,
    collect() {
      this.reset()
      for (const [org, age] of Object.entries(service.ages())) if (age !== null) this.set({ organization: org }, age)
    },
  })
  app.decorate('groupExposure', service)
  const timer = setInterval(() => void service.refreshDue(), 30_000)
  timer.unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    service.stop()
  })
  app.lifecycle.addCheck('group-exposure', () => {
    const ages = Object.entries(service.ages())
    if (ages.length === 0) return { ok: true, detail: config.groups.length === 0 ? 'no groups' : 'not in use: no decision needed it yet' }
    const stale = ages.filter(([, age]) => age === null || age > config.receivables.staleSeconds)
    return {
      ok: true,
      degraded: stale.length > 0,
      detail: ages.map(([org, age]) => `${org}: ${age === null ? 'not listed yet' : `${age} s old`}`).join('; '),
    }
  })
}

export default fp(groupExposurePlugin, {
  name: 'group-exposure',
  dependencies: ['metrics', 'lifecycle', 'redis', 'zoho', 'rules', 'shadow'],
})
