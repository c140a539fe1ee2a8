import type { FastifyBaseLogger } from 'fastify'
import { ZohoContactSchema } from '../domain/contact.js'
import { type CacheEntry, type ContactCache, contactKey } from './contact-cache.js'
import { type RedisLink, viaRedis } from './redis.js'

/** Contacts in Redis as `{fetched_at, contact}` (or `{fetched_at, not_found: true}`) JSON, with a TTL. */
export function createRedisCache(link: RedisLink, log: FastifyBaseLogger): ContactCache {
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

/**
 * Redis while it answers, with every entry also written to the in-process cache, which serves
 * while Redis does not: a Redis outage then costs no Zoho calls for contacts this instance has
 * seen. Purges reach every instance's in-process copy through pub/sub, and purges made while
 * Redis is down are replayed when it returns, so an invalidated contact is not served later.
 */
export function createResilientCache(
  link: RedisLink,
  redis: ContactCache,
  local: ContactCache,
  log: FastifyBaseLogger,
  staleTtlSeconds: (entry: CacheEntry) => number,
): ContactCache {
  const missedDeletes = new Map<string, [string, string]>()
  link.onEvent((event) => {
    if (event.type === 'invalidated') void local.delete(event.org, event.contactId)
  })
  link.onChange(async (up) => {
    if (!up || missedDeletes.size === 0) return
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
  return {
    get: (org, contactId) =>
      viaRedis(
        link,
        async () => {
          const shared = await redis.get(org, contactId)
          if (shared || !refilling()) return shared
          const mine = await local.get(org, contactId)
          if (mine) await redis.set(org, contactId, mine, staleTtlSeconds(mine))
          return mine
        },
        () => local.get(org, contactId),
      ),
    async set(org, contactId, entry, ttl) {
      await local.set(org, contactId, entry, ttl)
      await viaRedis(
        link,
        () => redis.set(org, contactId, entry, ttl),
        async () => {},
      )
    },
    async delete(org, contactId) {
      await local.delete(org, contactId)
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
