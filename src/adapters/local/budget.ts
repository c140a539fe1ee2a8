import { setMaxListeners } from 'node:events'
import { BudgetRefused, type BudgetVerdict, type ZohoBudget } from '../zoho/ports.js'

/**
 * The in-process Zoho budget: the whole budget without Redis, and while Redis is down the part
 * redis/budget.ts gives it (`share`). With redis/budget.ts, all there is to the degraded budget.
 */

export interface BudgetLimits {
  readonly requestsPerMinute: number
  readonly maxConcurrency: number
  /** How long acquire() waits for a concurrency slot before giving up. */
  readonly waitMs: number
  /** Calls of each minute background work may not take: they are kept for decisions (default 0). */
  readonly reserve?: number | undefined
  /** An organization's own budget, concurrency and reserve (ORGANIZATIONS_FILE), instead of the ones above. */
  readonly of?: ((org: string) => Pick<BudgetLimits, 'requestsPerMinute' | 'maxConcurrency' | 'reserve'>) | undefined
}

/** The limits an organization's calls are counted against: its own, else the defaults. */
export const limitsOf = (limits: BudgetLimits, org: string): BudgetLimits => (limits.of ? { ...limits, ...limits.of(org) } : limits)

export const WINDOW_MS = 60_000

/**
 * Waits for a concurrency slot while `check` says "busy", up to limits.waitMs. Shared by the
 * in-process and the Redis budget: they differ only in where the counting happens.
 */
export async function acquireWith(
  org: string,
  limits: BudgetLimits,
  check: () => Promise<BudgetVerdict>,
  waitForRelease: (ms: number) => Promise<void>,
  now: () => number = Date.now,
): Promise<void> {
  const deadline = now() + limits.waitMs
  for (;;) {
    const verdict = await check()
    if (verdict.ok) return
    const left = deadline - now()
    if (verdict.reason !== 'busy' || left <= 0) throw new BudgetRefused(org, verdict)
    await waitForRelease(Math.min(left, 50))
  }
}

interface OrgState {
  calls: number[]
  inFlight: number
  pausedUntil: number
}

/** This instance's part of an organization's budget now, and when a known call leaves the minute (raising it). */
export interface Share {
  readonly perMinute: number
  readonly concurrency: number
  readonly freesAt?: number | undefined
  /** Calls of the part kept for decisions (default: the limits' reserve). */
  readonly reserve?: number | undefined
}

/**
 * The in-process budget: the whole budget without Redis; while Redis is down, `share` gives
 * this instance's part of it (see redis/budget.ts). `now` is its clock (tests move it).
 */
export function createLocalBudget(
  limits: BudgetLimits,
  share?: (org: string, now: number) => Share,
  now: () => number = Date.now,
): ZohoBudget {
  const orgs = new Map<string, OrgState>()
  const released = new EventTarget()
  // Every waiter for a slot listens here; more than ten at once is normal, not a leak.
  setMaxListeners(Number.POSITIVE_INFINITY, released)
  const partAt = (org: string, at: number): Share => {
    const own = limitsOf(limits, org)
    return share?.(org, at) ?? { perMinute: own.requestsPerMinute, concurrency: own.maxConcurrency, reserve: own.reserve }
  }
  const state = (org: string) => {
    const found = orgs.get(org)
    if (found) return found
    const created: OrgState = { calls: [], inFlight: 0, pausedUntil: 0 }
    orgs.set(org, created)
    return created
  }
  const waitForRelease = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        released.removeEventListener('release', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      released.addEventListener('release', done)
    })
  return {
    async acquire(org, options) {
      const s = state(org)
      await acquireWith(
        org,
        limits,
        async () => {
          const at = now()
          const part = partAt(org, at)
          // Background work leaves the part's reserve to decisions.
          const limit = options?.background ? { ...part, perMinute: Math.max(0, part.perMinute - (part.reserve ?? 0)) } : part
          return localVerdict(s, limit, at)
        },
        waitForRelease,
        now,
      )
      let open = true
      return () => {
        if (!open) return
        open = false
        s.inFlight--
        released.dispatchEvent(new Event('release'))
      }
    },
    async pause(org, seconds) {
      const s = state(org)
      s.pausedUntil = Math.max(s.pausedUntil, now() + seconds * 1000)
    },
    callsLastMinute(org) {
      const since = now() - WINDOW_MS
      return state(org).calls.filter((at) => at > since).length
    },
    part(org) {
      const at = now()
      const { perMinute, reserve } = partAt(org, at)
      return {
        perMinute,
        reserve: reserve ?? limitsOf(limits, org).reserve ?? 0,
        calls: state(org).calls.filter((t) => t > at - WINDOW_MS),
      }
    },
  }
}

function localVerdict(s: OrgState, limit: Share, now: number): BudgetVerdict {
  if (now < s.pausedUntil) return { ok: false, retryAfterMs: s.pausedUntil - now, reason: 'paused', limit: 0 }
  while ((s.calls[0] ?? Infinity) <= now - WINDOW_MS) s.calls.shift()
  if (s.calls.length >= limit.perMinute) {
    // The soonest a slot may free: our oldest call leaving the minute, or a known one raising the share.
    const frees = Math.min((s.calls[0] ?? Infinity) + WINDOW_MS, limit.freesAt ?? Infinity)
    return { ok: false, retryAfterMs: Number.isFinite(frees) ? frees - now : WINDOW_MS, reason: 'spent', limit: limit.perMinute }
  }
  if (s.inFlight >= limit.concurrency) {
    return { ok: false, retryAfterMs: 1000, reason: 'busy', limit: limit.concurrency }
  }
  s.calls.push(now)
  s.inFlight++
  return { ok: true }
}
