import { Problem } from '../../errors.js'

/**
 * The Zoho client's ports: what the HTTP client (books.ts) needs from the token and budget
 * adapters, and the refusal a budget answers with, declared apart from all of them so that none
 * imports another to learn a shape.
 */

/** Where the Zoho client gets its access token: one per process, or shared through Redis. */
export interface AccessTokens {
  get(): Promise<string>
  /** Zoho rejected this token: the next get() mints a new one, once, however many callers saw it. */
  reject(token: string): Promise<void>
}

/**
 * The per-organization allowance of Zoho calls. Zoho blocks the whole organization, its people
 * included, past 100 calls a minute: every call leaves only with a slot from here.
 */
export interface ZohoBudget {
  /**
   * Takes a slot (waiting briefly for one in flight to finish); returns its release. A background
   * call (a receivables refresh) gets one only while more than the reserve is left in the minute.
   */
  acquire(org: string, options?: { background?: boolean }): Promise<() => void>
  /** Zoho answered 429: no calls for this organization for the given seconds. */
  pause(org: string, seconds: number): Promise<void>
  /** Calls made in the last minute for the organization, as this instance knows them (all instances' with Redis). */
  callsLastMinute(org: string): number
  /** This instance's part of the organization's minute as its in-process budget counts it (the whole budget without Redis). */
  part(org: string): BudgetPart
}

/** What the in-process budget lets this instance spend of an organization's minute. */
export interface BudgetPart {
  /** Calls it may make in any minute. */
  readonly perMinute: number
  /** Calls of those kept for decisions. */
  readonly reserve: number
  /** When it made the calls of the last minute (ms, oldest first). */
  readonly calls: readonly number[]
}

export type BudgetRefusal = 'spent' | 'paused' | 'busy'

/** The answer of one budget check: a slot, or how long until one may exist and why. */
export type BudgetVerdict = { ok: true } | { ok: false; retryAfterMs: number; reason: BudgetRefusal; limit: number }

const REFUSALS: Record<BudgetRefusal, (limit: number) => string> = {
  spent: (limit) => `the budget of ${limit} calls per minute is spent`,
  paused: () => 'Zoho asked us to back off',
  busy: (limit) => `${limit} calls are already in flight`,
}

/** No Zoho call now: the budget is spent, Zoho asked us to pause, or too many are in flight. */
export class BudgetRefused extends Problem {
  readonly verdict: Extract<BudgetVerdict, { ok: false }>
  constructor(org: string, verdict: Extract<BudgetVerdict, { ok: false }>) {
    super('upstream_unavailable', `no Zoho call for organization ${org}: ${REFUSALS[verdict.reason](verdict.limit)}`, {
      retryAfterSeconds: Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)),
    })
    this.verdict = verdict
  }
}
