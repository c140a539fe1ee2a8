import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { createLocalReservations } from '../adapters/local/reservations.js'
import { createRedisReservations } from '../adapters/redis/reservations.js'
import type { Config } from '../config.js'
import { createReservationService, type ReservationService } from '../services/reservations.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Allowed orders' holds on their customers' credit until Zoho lists them (issue 24). */
    reservations: ReservationService
  }
}

/** How often expired reservations are ended (and counted), by whichever instance gets there first. */
export const SWEEP_MS = 30_000

const reservationsPlugin: FastifyPluginAsync<{ config: Config; now?: (() => number) | undefined }> = async (app, { config, now }) => {
  const registers = [app.metrics.registry]
  const ends = new Counter({
    name: 'creditgate_reservations_ended_total',
    help: 'Reservations ended, by reason: matched (Zoho lists the order), cancelled (DELETE), expired (RESERVATION_TTL_SECONDS, unmatched)',
    labelNames: ['reason'],
    registers,
  })
  for (const reason of ['matched', 'cancelled', 'expired']) ends.inc({ reason }, 0)
  const ttlSeconds = config.reservationTtlSeconds
  const twin = createLocalReservations(app.shared.link ? 'degraded' : 'local')
  const service = createReservationService({
    store: app.shared.store({ local: () => twin, redis: (link) => createRedisReservations(link, twin, ttlSeconds) }),
    ttlSeconds,
    instances: () => app.shared.link?.instances ?? 1,
    onEnd: (reason, count) => ends.inc({ reason }, count),
    ...(now ? { now } : {}),
  })
  const organizations = app.zoho.organizations
  new Gauge({
    name: 'creditgate_reservations',
    help: 'Live reservations (allowed orders Zoho does not list yet), by organization',
    labelNames: ['organization'],
    registers,
    async collect() {
      this.reset()
      for (const org of organizations) this.set({ organization: org }, await service.live(org).catch(() => 0))
    },
  })
  app.decorate('reservations', service)
  const log = app.log.child({ component: 'reservations' })
  const sweep = async () => {
    for (const org of organizations) await service.sweep(org).catch((err) => log.warn({ err, org }, 'ending expired reservations failed'))
  }
  const timer = setInterval(() => void sweep(), SWEEP_MS)
  timer.unref()
  app.addHook('onClose', async () => clearInterval(timer))
}

export default fp(reservationsPlugin, { name: 'reservations', dependencies: ['metrics', 'redis', 'zoho'] })
