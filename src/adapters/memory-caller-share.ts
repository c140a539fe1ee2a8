import type { CallerShare } from '../services/contacts.js'
import { WINDOW_MS } from './zoho/budget.js'

/** Callers remembered at once; the least recently charged is forgotten first. */
const MAX_CALLERS = 10_000

/**
 * Each caller's look-ups of the last minute, in this process: the share without Redis, and the
 * fallback while Redis is down (each instance then counts its own).
 */
export function createMemoryCallerShare(limit: number, now: () => number = Date.now): CallerShare {
  const calls = new Map<string, number[]>()
  return {
    async take(org, caller) {
      const key = `${org}\n${caller}`
      const at = now()
      const recent = (calls.get(key) ?? []).filter((t) => t > at - WINDOW_MS)
      calls.delete(key)
      calls.set(key, recent)
      if (calls.size > MAX_CALLERS) calls.delete(calls.keys().next().value as string)
      if (recent.length >= limit) return { ok: false, retryAfterMs: (recent[0] as number) + WINDOW_MS - at, limit }
      recent.push(at)
      return { ok: true }
    },
  }
}
