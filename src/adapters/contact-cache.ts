import type { ZohoContact } from '../domain/contact.js'

/** What the cache keeps per contact: the contact, or the fact that Zoho said it does not exist. */
export type CacheEntry =
  | { readonly fetched_at: string; readonly contact: ZohoContact }
  | { readonly fetched_at: string; readonly not_found: true }

/** The contact cache port. The in-process map below and Redis (redis-cache.ts) implement it. */
export interface ContactCache {
  get(org: string, contactId: string): Promise<CacheEntry | undefined>
  /** Keeps the entry for ttlSeconds (the stale horizon, not the freshness). */
  set(org: string, contactId: string, entry: CacheEntry, ttlSeconds: number): Promise<void>
  delete(org: string, contactId: string): Promise<void>
}

const parsedTimes = new WeakMap<CacheEntry, number>()

/** When the entry was fetched, in ms; entries are immutable, so it is parsed once per entry. */
export function fetchedAtMs(entry: CacheEntry): number {
  let ms = parsedTimes.get(entry)
  if (ms === undefined) {
    ms = Date.parse(entry.fetched_at)
    parsedTimes.set(entry, ms)
  }
  return ms
}

/** The contract's cache key: creditgate:v1:{org}:contact:{id}. */
export const contactKey = (org: string, contactId: string) => `creditgate:v1:${org}:contact:${contactId}`

/** A bounded in-process cache: the default without REDIS_URL, and the fallback when Redis fails. */
export function createMemoryCache(maxEntries = 50_000, now: () => number = Date.now): ContactCache {
  const entries = new Map<string, { entry: CacheEntry; expiresAt: number }>()
  return {
    async get(org, contactId) {
      const key = contactKey(org, contactId)
      const hit = entries.get(key)
      if (!hit) return undefined
      if (hit.expiresAt <= now()) {
        entries.delete(key)
        return undefined
      }
      return hit.entry
    },
    async set(org, contactId, entry, ttlSeconds) {
      const key = contactKey(org, contactId)
      entries.delete(key)
      entries.set(key, { entry, expiresAt: now() + ttlSeconds * 1000 })
      // Map keeps insertion order: the first key is the oldest write.
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
    },
    async delete(org, contactId) {
      entries.delete(contactKey(org, contactId))
    },
  }
}
