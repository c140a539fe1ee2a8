import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createMemoryCache } from '../adapters/memory-cache.js'
import { createMemoryCallerShare } from '../adapters/memory-caller-share.js'
import { createRedisCache } from '../adapters/redis/cache.js'
import { createRedisCallerShare } from '../adapters/redis/caller-share.js'
import { createRedisFlight } from '../adapters/redis/flight.js'
import type { Config } from '../config.js'
import { type CacheEntry, type ContactCache, type ContactService, createContactService, fetchedAtMs } from '../services/contacts.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Contacts through the cache, one Zoho call per missing contact across instances. */
    contacts: ContactService
  }
}

const contactsPlugin: FastifyPluginAsync<{ config: Config; cache?: ContactCache | undefined }> = async (app, options) => {
  const { cache: ttl, zoho } = options.config
  const lookups = new Counter({
    name: 'creditgate_contact_cache_total',
    help: 'Contact lookups: hit (fresh copy), miss (Zoho asked), stale (served while Zoho could not answer), not_found (cached)',
    labelNames: ['result'],
    registers: [app.metrics.registry],
  })
  for (const result of ['hit', 'miss', 'stale', 'not_found']) lookups.inc({ result }, 0)
  const memory = createMemoryCache()
  // A refilled copy keeps what is left of its stale horizon.
  const remainingTtl = (entry: CacheEntry) => Math.max(1, ttl.staleTtlSeconds - Math.floor((Date.now() - fetchedAtMs(entry)) / 1000))
  const log = app.log.child({ component: 'contacts' })
  const cache =
    options.cache ??
    app.shared.store({
      alone: () => memory,
      redis: (link) => createRedisCache(link, memory, log, { freshSeconds: ttl.ttlSeconds, staleSeconds: remainingTtl }),
    })
  const flight = app.shared.store({ alone: () => undefined, redis: (link) => createRedisFlight(link, log) })
  const share = callerShare(options.config)
  const local = share === undefined ? undefined : createMemoryCallerShare(share)
  const callers =
    share === undefined || !local
      ? undefined
      : app.shared.store({ alone: () => local, redis: (link) => createRedisCallerShare(link, share, local) })
  app.decorate(
    'contacts',
    createContactService({
      cache,
      source: app.zoho.contacts,
      ttlSeconds: ttl.ttlSeconds,
      staleTtlSeconds: ttl.staleTtlSeconds,
      log,
      flight,
      callerShare: callers,
      flightWaitMs: zoho.timeoutMs * 3 + 5000,
      onLookup: (result) => lookups.inc({ result }),
    }),
  )
}

/**
 * The Zoho calls per organization and minute that one caller's cache misses may start: half the
 * budget, so that no caller can take it all. With one key there is no one else to protect; without
 * keys (development: production refuses to start so) callers are addresses, which a client can
 * change at will, so only keys are told apart.
 */
export function callerShare(config: Config): number | undefined {
  if (config.apiKeys.length === 0 || config.apiKeys.length + config.adminApiKeys.length <= 1) return undefined
  return Math.ceil(config.zoho.requestsPerMinute / 2)
}

export default fp(contactsPlugin, { name: 'contacts', dependencies: ['metrics', 'redis', 'zoho'] })
