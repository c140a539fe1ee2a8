import type { FastifyBaseLogger } from 'fastify'
import { fetchedAtMs, ZohoContactSchema } from '../../domain/contact.js'
import type { CacheEntry, ContactCache } from '../../services/contacts.js'
import { type RedisConnection, viaRedis } from './connection.js'
import type { DataLoss } from './data-loss.js'
import type { RedisEvents } from './events.js'

/**
 * The contract's cache key, creditgate:v1:<org>:contact:<id>, deliberately without a hash tag so that contacts
 * spread over a Cluster's masters: ../../../docs/decisions/005-redis-cluster-keys.md
 */
export const contactKey = (org: string, contactId: string) => `creditgate:v1:${org}:contact:${contactId}`

/** Contacts in Redis as `{fetched_at, contact}` (or `{fetched_at, not_found: true}`) JSON, with a TTL. */
function redisEntries(link: Pick<RedisConnection, 'client'>, log: FastifyBaseLogger): ContactCache {
  return {
    async get(org, contactId) {
      const key = contactKey(org, contactId)
      const raw = await link.client.get(key)
      if (raw === null) return undefined
      const entry = readEntry(raw)
      if (!entry) log.warn({ key }, 'corrupt cache entry ignored; refetching')
      return entry
    },
    async set(org, contactId, entry, ttlSeconds) {
      await link.client.set(contactKey(org, contactId), JSON.stringify(entry), 'EX', Math.max(1, ttlSeconds))
    },
    async delete(org, contactId) {
      await link.client.del(contactKey(org, contactId))
    },
  }
}

/** A cache entry read back, or undefined when it is not one (then it is refetched and overwritten). */
export function readEntry(raw: string): CacheEntry | undefined {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return undefined
  }
  if (!value || typeof value !== 'object') return undefined
  const { fetched_at, contact, not_found } = value as Record<string, unknown>
  if (typeof fetched_at !== 'string' || Number.isNaN(Date.parse(fetched_at))) return undefined
  if (not_found === true) return { fetched_at, not_found: true }
  const parsed = ZohoContactSchema.safeParse(contact)
  return parsed.success ? { fetched_at, contact: parsed.data } : undefined
}

/** How long after Redis lost its data the in-process copies may refill it. */
const REFILL_WINDOW_MS = 10 * 60_000
const HOT_ENTRIES = 50_000

/**
 * Redis shared by all instances, with two in-process layers:
 * - a hot copy of fresh entries, read before Redis: a cached decision costs no Redis round trip
 *   and no parsing. Purges reach every instance's hot copy through pub/sub; an entry is trusted
 *   only while the subscription is live and has not dropped since the entry was kept (a dropped
 *   subscription may have missed a purge), and only while fresh.
 * - a write-through copy of everything this instance saw, served while Redis does not answer:
 *   a Redis outage then costs no Zoho calls for contacts this instance has seen.
 * Purges made while Redis is down are replayed when it returns, so an invalidated contact is
 * not served later; if Redis came back empty, the in-process copies refill it instead of Zoho.
 */
export function createRedisCache(
  link: RedisConnection & RedisEvents & DataLoss,
  local: ContactCache,
  log: FastifyBaseLogger,
  ttl: { freshSeconds: number; staleSeconds: (entry: CacheEntry) => number },
): ContactCache {
  const redis = redisEntries(link, log)
  const hot = new Map<string, { entry: CacheEntry; epoch: number }>()
  const keep = (key: string, entry: CacheEntry) => {
    hot.delete(key)
    hot.set(key, { entry, epoch: link.eventsEpoch })
    if (hot.size > HOT_ENTRIES) hot.delete(hot.keys().next().value as string)
  }
  const forget = (org: string, contactId: string) => {
    hot.delete(contactKey(org, contactId))
    return local.delete(org, contactId)
  }
  const missedDeletes = new Map<string, [string, string]>()
  link.onEvent((event) => {
    if (event.type === 'invalidated') void forget(event.org, event.contactId)
  })
  link.beforeUp(async () => {
    if (missedDeletes.size === 0) return
    const pending = [...missedDeletes.entries()]
    missedDeletes.clear()
    for (const [key, [org, contactId]] of pending) {
      await redis.delete(org, contactId).catch(() => missedDeletes.set(key, [org, contactId]))
      await link.publish({ type: 'invalidated', org, contactId })
    }
    log.info({ replayed: pending.length }, 'replayed cache purges made while redis was down')
  })
  /** Redis restarted empty a moment ago: this instance's copies refill it instead of Zoho. */
  const refilling = () => link.dataLostAt > 0 && Date.now() - link.dataLostAt < REFILL_WINDOW_MS
  const fresh = (entry: CacheEntry) => Date.now() - fetchedAtMs(entry) < ttl.freshSeconds * 1000

  return {
    async get(org, contactId) {
      const key = contactKey(org, contactId)
      const copy = hot.get(key)
      if (copy && link.up && link.eventsLive && copy.epoch === link.eventsEpoch && fresh(copy.entry)) return copy.entry
      return viaRedis(
        link,
        async () => {
          const shared = await redis.get(org, contactId)
          if (shared) {
            keep(key, shared)
            await local.set(org, contactId, shared, ttl.staleSeconds(shared))
            return shared
          }
          if (!refilling()) return undefined
          const mine = await local.get(org, contactId)
          if (mine) await redis.set(org, contactId, mine, ttl.staleSeconds(mine))
          return mine
        },
        () => local.get(org, contactId),
      )
    },
    async set(org, contactId, entry, ttlSeconds) {
      keep(contactKey(org, contactId), entry)
      await local.set(org, contactId, entry, ttlSeconds)
      await viaRedis(
        link,
        () => redis.set(org, contactId, entry, ttlSeconds),
        async () => {},
      )
    },
    async delete(org, contactId) {
      await forget(org, contactId)
      await viaRedis(
        link,
        async () => {
          await redis.delete(org, contactId)
          await link.publish({ type: 'invalidated', org, contactId })
        },
        async () => {
          missedDeletes.set(contactKey(org, contactId), [org, contactId])
        },
      )
    },
  }
}
