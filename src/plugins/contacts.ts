import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createLocalCache } from '../adapters/local/cache.js'
import { createLocalCallerShare } from '../adapters/local/caller-share.js'
import { createRedisCache } from '../adapters/redis/cache.js'
import { createRedisCallerShare } from '../adapters/redis/caller-share.js'
import { createRedisFlight } from '../adapters/redis/flight.js'
import type { Config } from '../config.js'
import { fetchedAtMs } from '../domain/contact.js'
import type { OrganizationSettings } from '../organizations.js'
import { type CacheEntry, type ContactCache, type ContactService, createContactService } from '../services/contacts.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Contacts through the cache, one Zoho call per missing contact across instances. */
    contacts: ContactService
    /** A contact's name as the cache holds it (fresh or stale copy): never a Zoho call; undefined when not cached. */
    cachedContactName: (org: string, contactId: string) => Promise<string | undefined>
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
  const memory = createLocalCache()
  // A refilled copy keeps what is left of its stale horizon.
  const remainingTtl = (entry: CacheEntry) => Math.max(1, ttl.staleTtlSeconds - Math.floor((Date.now() - fetchedAtMs(entry)) / 1000))
  const log = app.log.child({ component: 'contacts' })
  const cache =
    options.cache ??
    app.shared.store({
      local: () => memory,
      redis: (link) => createRedisCache(link, memory, log, { freshSeconds: ttl.ttlSeconds, staleSeconds: remainingTtl }),
    })
  app.decorate('cachedContactName', async (org: string, contactId: string) => {
    const entry = await cache.get(org, contactId)
    return entry && 'contact' in entry ? entry.contact.contact_name : undefined
  })
  const flight = app.shared.store({ local: () => undefined, redis: (link) => createRedisFlight(link, log) })
  const share = callerShare(options.config, (org) => app.zoho.settings(org))
  const local = createLocalCallerShare((org) => app.zoho.part(org))
  const callers =
    share === undefined ? undefined : app.shared.store({ local: () => local, redis: (link) => createRedisCallerShare(link, share, local) })
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
 * The share's limits, or none when there is no one to share with: one caller key (admin keys are
 * not a party: their decisions are never charged), or no keys at all (development: production
 * refuses to start so; callers are then addresses, which a client can change at will). With two
 * or more caller keys, a caller may not take the last `reserve` calls of the minute once it has
 * made its fair part of it (see shareVerdict).
 */
export function callerShare(
  config: Config,
  settings: (org: string) => OrganizationSettings,
): ((org: string) => { budget: number; reserve: number }) | undefined {
  if (config.apiKeys.length < 2) return undefined
  // Each organization's own budget and reserve (ORGANIZATIONS_FILE), else the environment's.
  return (org) => ({ budget: settings(org).zoho.requestsPerMinute, reserve: settings(org).zoho.reserve })
}

export default fp(contactsPlugin, { name: 'contacts', dependencies: ['metrics', 'redis', 'zoho'] })
