import type { CacheEntry, ContactCache } from '../../services/contacts.js'

/** A bounded in-process cache: the default without Redis, and the fallback while Redis is down. */
export function createLocalCache(maxEntries = 50_000, now: () => number = Date.now): ContactCache {
  const entries = new Map<string, { entry: CacheEntry; expiresAt: number }>()
  const keyOf = (org: string, contactId: string) => `${org}:${contactId}`
  return {
    async get(org, contactId) {
      const key = keyOf(org, contactId)
      const hit = entries.get(key)
      if (!hit) return undefined
      if (hit.expiresAt <= now()) {
        entries.delete(key)
        return undefined
      }
      return hit.entry
    },
    async set(org, contactId, entry, ttlSeconds) {
      const key = keyOf(org, contactId)
      entries.delete(key)
      entries.set(key, { entry, expiresAt: now() + ttlSeconds * 1000 })
      // Map keeps insertion order: the first key is the oldest write.
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
    },
    async delete(org, contactId) {
      entries.delete(keyOf(org, contactId))
    },
  }
}
