import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { connectRedis, type RedisLink } from '../adapters/redis/link.js'
import type { Config } from '../config.js'

/**
 * Redis, or not: the one place that decides. Every store whose state the instances share (cache,
 * Zoho budget and token, single flight, rate-limit counts) is built through `store`: its Redis
 * version when Redis is configured — which falls back, the one way every Redis store does
 * (viaRedis), while Redis is down — and its in-process version when it is not.
 */
export interface Shared {
  /** The connection, when Redis is configured. */
  readonly link: RedisLink | undefined
  store<T>(choice: { local: () => T; redis: (link: RedisLink) => T }): T
}

declare module 'fastify' {
  interface FastifyInstance {
    shared: Shared
  }
}

const redisPlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const link = config.redis ? await connectRedis(config.redis, app.log.child({ component: 'redis' })) : undefined
  app.decorate('shared', { link, store: (choice) => (link ? choice.redis(link) : choice.local()) })
  const registers = [app.metrics.registry]
  const degraded = new Gauge({ name: 'creditgate_redis_degraded', help: '1 while Redis is configured but unreachable', registers })
  const degradations = new Counter({
    name: 'creditgate_redis_degraded_total',
    help: 'Times Redis became unreachable and the service fell back to its in-process cache and budget',
    registers,
  })
  // Present without Redis too (0), so that dashboards and alerts find them.
  degraded.set(0)
  if (!link) {
    app.log.warn('no Redis configured (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES): contacts are cached in this process only')
    app.lifecycle.addCheck('redis', () => ({ ok: true, detail: 'not configured: in-process cache' }))
    return
  }
  app.addHook('onClose', () => link.close())
  const watch = (up: boolean) => {
    degraded.set(up ? 0 : 1)
    if (!up) degradations.inc()
  }
  watch(link.up)
  link.onDown(() => watch(false))
  link.beforeUp(() => watch(true))
  app.lifecycle.addCheck('redis', () => {
    if (link.full) {
      return {
        ok: true,
        degraded: true,
        detail: 'full: Redis answers but refuses writes (out of memory); serving from the in-process cache and budget',
      }
    }
    return link.up
      ? { ok: true, detail: `connected; ${link.instances} instance${link.instances === 1 ? '' : 's'} sharing it` }
      : { ok: true, degraded: true, detail: 'unreachable: serving from the in-process cache and budget' }
  })
}

export default fp(redisPlugin, { name: 'redis', dependencies: ['metrics', 'lifecycle'] })
