import type { CallerShare, ShareVerdict } from '../../services/contacts.js'
import type { BudgetPart } from '../zoho/ports.js'
import { WINDOW_MS } from './budget.js'

/** Callers remembered at once; the least recently charged is forgotten first. */
const MAX_CALLERS = 10_000

/** What the share is decided on, for one organization's minute ending `now`. */
export interface ShareInput {
  /** The calls the minute allows (the budget; while Redis is down, this instance's part of it). */
  readonly perMinute: number
  /** Of those, the calls kept for callers under their fair part. */
  readonly reserve: number
  /**
   * When the organization's calls of the minute were made (ms, oldest first): the budget's, or the
   * calls the share allowed if there are more of those (some may not have reached the budget yet).
   */
  readonly spent: readonly number[]
  /** When this caller's were (ms, oldest first). */
  readonly mine: readonly number[]
  /** Callers that asked for a call this minute, this one included. */
  readonly callers: number
  readonly now: number
}

/**
 * The share (the Redis share's script says the same in Lua): a caller may start a call while more
 * than the reserve is left in the minute, or while it has made fewer than its fair part of it,
 * ⌈perMinute ÷ callers⌉. Callers count as at least two: the share only exists with two or more
 * caller keys, and the reserve is for the one that has not asked yet. Refused, it learns when its
 * next call can start: when enough of the organization's calls leave the minute to leave more than
 * the reserve, or enough of its own to bring it under its fair part, whichever comes first.
 */
export function shareVerdict(input: ShareInput): ShareVerdict {
  const { perMinute, reserve, spent, mine, now } = input
  const callers = Math.max(2, input.callers)
  if (perMinute - spent.length > reserve || mine.length * callers < perMinute) return { ok: true }
  const fair = Math.ceil(perMinute / callers)
  // With a reserve of the whole minute, the organization's index is past the end: it never frees.
  const leaving = [mine[mine.length - fair], spent[spent.length - (perMinute - reserve)]]
  const first = Math.min(...leaving.map((at) => at ?? Number.POSITIVE_INFINITY))
  return { ok: false, retryAfterMs: Number.isFinite(first) ? first + WINDOW_MS - now : WINDOW_MS, used: mine.length, fair }
}

/** The in-process share, and what it keeps of the Redis share's answers. */
export interface LocalCallerShare extends CallerShare {
  /**
   * A take the Redis share decided: remembered, so that while Redis is down this instance goes on
   * from the calls and callers it saw, rather than from nothing.
   */
  note(org: string, caller: string, granted: boolean): void
}

/**
 * The share in this process: the only one without Redis, and the fallback while Redis is down.
 * It decides on the part of the organization's minute the in-process budget gives this instance
 * (`part`): the whole budget and reserve alone; while Redis is down, the instance's part and
 * its part of the reserve, the calls each caller made through this instance and the callers it saw.
 * The minute's calls are the budget's or the calls it allowed itself, whichever are more: concurrent
 * look-ups are allowed before their fetches reach the budget, and would otherwise all see the same
 * count and overshoot the reserve.
 * Why a reserve and fair parts, not a cap per caller: ../../../docs/decisions/007-fair-share.md
 */
export function createLocalCallerShare(part: (org: string) => BudgetPart, now: () => number = Date.now): LocalCallerShare {
  const calls = new Map<string, number[]>()
  /** The calls this share allowed, per organization: a call allowed is not in the budget until its fetch starts. */
  const granted = new Map<string, number[]>()
  const asked = new Map<string, Map<string, number>>()
  const recent = (times: readonly number[], at: number) => times.filter((t) => t > at - WINDOW_MS)
  /** The caller's calls of the minute, counted as its latest use (so the least recently charged is forgotten first). */
  const callsOf = (org: string, caller: string, at: number) => {
    const key = `${org}\n${caller}`
    const mine = recent(calls.get(key) ?? [], at)
    calls.delete(key)
    calls.set(key, mine)
    if (calls.size > MAX_CALLERS) calls.delete(calls.keys().next().value as string)
    return mine
  }
  /** Records the ask; the callers that asked this minute. */
  const ask = (org: string, caller: string, at: number) => {
    let callers = asked.get(org)
    if (!callers) {
      callers = new Map()
      asked.set(org, callers)
    }
    // Kept in the order of their last ask: those that have not asked this minute are at the front.
    callers.delete(caller)
    callers.set(caller, at)
    for (const [name, last] of callers) {
      if (last > at - WINDOW_MS) break
      callers.delete(name)
    }
    return callers.size
  }
  return {
    async take(org, caller) {
      const at = now()
      const callers = ask(org, caller, at)
      const mine = callsOf(org, caller, at)
      const { perMinute, reserve, calls: spent } = part(org)
      const allowed = recent(granted.get(org) ?? [], at)
      granted.set(org, allowed)
      const budget = recent(spent, at)
      const verdict = shareVerdict({ perMinute, reserve, spent: allowed.length > budget.length ? allowed : budget, mine, callers, now: at })
      if (verdict.ok) {
        mine.push(at)
        allowed.push(at)
      }
      return verdict
    },
    note(org, caller, granted) {
      const at = now()
      ask(org, caller, at)
      const mine = callsOf(org, caller, at)
      if (granted) mine.push(at)
    },
  }
}
