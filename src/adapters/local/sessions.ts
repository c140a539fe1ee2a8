import type { SessionStore } from '../../services/sessions.js'

/** Sign-ins under way kept in this process at most: ten a second for their ten minutes (LOGIN_TTL_SECONDS). */
export const LOCAL_LOGINS = 6_000

/** Sessions in this process: the default without Redis, and the fallback while Redis is down. Bounded; the oldest write goes first. */
export function createLocalSessions(maxEntries = 10_000, now: () => number = Date.now): SessionStore {
  const entries = new Map<string, { value: string; expiresAt: number }>()
  return {
    async get(key) {
      const hit = entries.get(key)
      if (hit && hit.expiresAt > now()) return hit.value
      entries.delete(key)
      return undefined
    },
    async set(key, value, ttlSeconds) {
      entries.delete(key)
      entries.set(key, { value, expiresAt: now() + ttlSeconds * 1000 })
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
    },
    async delete(key) {
      entries.delete(key)
    },
  }
}
