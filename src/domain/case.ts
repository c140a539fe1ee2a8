import { z } from 'zod'
import { formatAmount } from '../lib/format.js'
import { type Actor, ActorSchema, actorRecord } from './actor.js'
import { CASE_STATES, type CaseLink, type CaseState, ReasonSchema, type Release, ReleaseSchema } from './decision.js'

export { CASE_STATES, type CaseLink, type CaseState, type Release }

/**
 * A credit case: an order held by a `review` or `block` decision, waiting for a person. One per
 * organization, contact and order reference. Pure: every change is a function from a case (and who,
 * when, why) to the next case, with the transition recorded in its history.
 */
export const CASE_EVENTS = ['opened', 'updated', 'released', 'rejected', 'expired', 'reopened', 'cleared'] as const
export type CaseEventKind = (typeof CASE_EVENTS)[number]

export const CaseStepSchema = z
  .object({
    at: z.string().describe('When (ISO 8601)'),
    by: z.string().describe('Who: an API key by its name, or a person'),
    actor: ActorSchema.optional().describe('On releases and rejections: the person (subject, name, roles) or the API key'),
    event: z.enum(CASE_EVENTS),
    state: z.enum(CASE_STATES).describe('The state after the step'),
    reason: z.string().describe('Why, in words'),
    note: z.string().optional(),
    decision_id: z.string().optional().describe('The decision that opened, updated or re-opened the case'),
  })
  .meta({ id: 'CaseStep' })

export const CaseSchema = z
  .object({
    case_id: z.string(),
    state: z.enum(CASE_STATES),
    organization_id: z.string(),
    contact_id: z.string(),
    order: z.object({ reference: z.string(), amount: z.number(), currency: z.string().optional() }),
    decision_id: z.string().describe('The latest decision that held the order'),
    decision: z.enum(['review', 'block']),
    reasons: z.array(ReasonSchema),
    unreleasable: z.array(z.string()).describe('Rules among the reasons marked "releasable": false: while any is listed, no release'),
    opened_at: z.string(),
    opened_by: z.string().describe('The caller key whose order opened the case: it may read the case and gets its callbacks'),
    expires_at: z.string().describe('An open case expires then (CASE_EXPIRE_DAYS after it was opened or re-opened)'),
    release: ReleaseSchema.nullable(),
    history: z
      .array(CaseStepSchema)
      .describe(
        'Every transition: who, when, why. Repeated asks for an open case keep one "updated" step, the latest; at most 100 steps, the first and the newest 99 (the audit trail has every transition)',
      ),
    revision: z.number().int().min(1).describe('Counts the changes of the case; every change writes only over the revision it read'),
  })
  .meta({ id: 'Case' })

export type Case = z.output<typeof CaseSchema>
export type CaseStep = z.output<typeof CaseStepSchema>

/** A case's place in its organization's index: when it was opened (15 digits of ms), then its id. */
export const caseIndexKey = (c: Case) => `${String(Date.parse(c.opened_at)).padStart(15, '0')}.${c.case_id}`
/** The index's lexical range start for cases opened at or after `sinceMs` ("-": from the first). */
export const indexStart = (sinceMs: number | undefined) =>
  sinceMs === undefined ? '-' : `[${String(Math.max(0, Math.floor(sinceMs))).padStart(15, '0')}`

export const caseLink = (c: Case): CaseLink => ({ case_id: c.case_id, state: c.state, status_url: `/cases/${c.case_id}` })

/** What a held decision says about the order, for opening or updating a case. */
export interface Hold {
  readonly caseId: string
  readonly org: string
  readonly contactId: string
  readonly order: { reference: string; amount: number; currency?: string | undefined }
  readonly decisionId: string
  readonly decision: 'review' | 'block'
  readonly reasons: Case['reasons']
  readonly unreleasable: readonly string[]
  readonly caller: string
}

export interface Policy {
  readonly expireDays: number
  readonly releaseValidDays: number
  readonly tolerance: number
}

const DAY_MS = 86_400_000
const iso = (ms: number) => new Date(ms).toISOString()

export class CaseConflict extends Error {
  override name = 'CaseConflict'
  readonly kind: 'state' | 'unreleasable' | 'limit' | 'invalid'
  constructor(kind: CaseConflict['kind'], message: string) {
    super(message)
    this.kind = kind
  }
}

/**
 * Steps a case keeps: the first (opened) and the newest. An order system alternating an order
 * between held and allowed re-opens and clears its case without end; every transition but
 * "updated" is in the audit trail as well, so the case itself stays this size.
 */
export const CASE_HISTORY_MAX = 100

/**
 * The case after a transition, recorded in its history. An "updated" step replaces an "updated"
 * step just before it: an order system asking again and again keeps a case's history (and its size
 * in Redis) the same, measured in docs/decisions/009-cases.md.
 */
const step = (c: Case, nowMs: number, s: Omit<CaseStep, 'at' | 'state'>, state: CaseState): Case => {
  const kept = s.event === 'updated' && c.history.at(-1)?.event === 'updated' ? c.history.slice(0, -1) : c.history
  const history = [...kept, { at: iso(nowMs), state, ...s }]
  if (history.length > CASE_HISTORY_MAX) history.splice(1, history.length - CASE_HISTORY_MAX)
  return { ...c, state, revision: c.revision + 1, history }
}

const held = (hold: Hold) => ({
  order: { ...hold.order },
  decision_id: hold.decisionId,
  decision: hold.decision,
  reasons: hold.reasons,
  unreleasable: [...hold.unreleasable],
})

/** A new case for a held order. */
export function openCase(hold: Hold, nowMs: number, policy: Policy): Case {
  const c: Case = {
    case_id: hold.caseId,
    state: 'open',
    organization_id: hold.org,
    contact_id: hold.contactId,
    ...held(hold),
    opened_at: iso(nowMs),
    opened_by: hold.caller,
    expires_at: iso(nowMs + policy.expireDays * DAY_MS),
    release: null,
    history: [],
    revision: 0,
  }
  return step(c, nowMs, { by: hold.caller, event: 'opened', reason: codes(hold.reasons), decision_id: hold.decisionId }, 'open')
}

const codes = (reasons: Case['reasons']) => `held: ${reasons.map((r) => r.code).join(', ') || 'no reason given'}`

const AGAIN: Partial<Record<CaseState, string>> = {
  expired: 'asked again after the case expired',
  cleared: 'held again after the rules had allowed it',
}

/**
 * The same order held again. An open case takes the newer decision; an expired or cleared one, or a release
 * that no longer covers the order (`why`), re-opens; a rejected case stays rejected.
 */
export function holdAgain(c: Case, hold: Hold, nowMs: number, policy: Policy, why?: string): { next: Case; event: CaseEventKind | null } {
  const by = hold.caller
  if (c.state === 'rejected') return { next: c, event: null }
  if (c.state === 'open') {
    const next = step(
      { ...c, ...held(hold) },
      nowMs,
      { by, event: 'updated', reason: codes(hold.reasons), decision_id: hold.decisionId },
      'open',
    )
    return { next, event: 'updated' }
  }
  const reason = why ?? AGAIN[c.state] ?? 'the release no longer covers the order'
  const reopened = { ...c, ...held(hold), release: null, expires_at: iso(nowMs + policy.expireDays * DAY_MS) }
  return { next: step(reopened, nowMs, { by, event: 'reopened', reason, decision_id: hold.decisionId }, 'open'), event: 'reopened' }
}

export interface ReleaseInput {
  readonly reason: string
  readonly note?: string | undefined
  readonly amount?: number | undefined
  readonly valid_until?: string | undefined
}

/** The largest order this actor may release: by its name, else the largest of its roles' limits; none listed → no limit. */
export function releaseLimit(limits: ReadonlyMap<string, number>, actor: Actor): number {
  const own = limits.get(actor.name) ?? limits.get(actor.sub)
  if (own !== undefined) return own
  const byRole = actor.roles.map((role) => limits.get(role)).filter((limit) => limit !== undefined)
  return byRole.length > 0 ? Math.max(...byRole) : Number.POSITIVE_INFINITY
}

/** Releases an open case; throws CaseConflict when it cannot be. */
export function releaseCase(c: Case, actor: Actor, input: ReleaseInput, nowMs: number, policy: Policy, limit: number): Case {
  if (c.state !== 'open') throw new CaseConflict('state', `the case is ${c.state}; only an open case can be released`)
  if (c.unreleasable.length > 0) {
    throw new CaseConflict(
      'unreleasable',
      `the rule ${c.unreleasable.join(', ')} is marked "releasable": false: this hold cannot be released`,
    )
  }
  const amount = input.amount ?? c.order.amount
  if (amount > limit) {
    throw new CaseConflict(
      'limit',
      `${actor.name} may release orders up to ${formatAmount(limit)}; this release is ${formatAmount(amount)}`,
    )
  }
  const validUntil = input.valid_until === undefined ? nowMs + policy.releaseValidDays * DAY_MS : Date.parse(input.valid_until)
  if (!(validUntil > nowMs)) throw new CaseConflict('invalid', 'valid_until must be a date and time in the future')
  const release: Release = {
    case_id: c.case_id,
    by: actor.name,
    actor: actorRecord(actor),
    at: iso(nowMs),
    reason: input.reason,
    ...(input.note === undefined ? {} : { note: input.note }),
    amount,
    valid_until: iso(validUntil),
  }
  return step({ ...c, release }, nowMs, { ...by(actor), event: 'released', reason: input.reason, ...note(input.note) }, 'released')
}

const note = (text: string | undefined) => (text === undefined ? {} : { note: text })
const by = (actor: Actor) => ({ by: actor.name, actor: actorRecord(actor) })

/** Rejects an open case. */
export function rejectCase(c: Case, actor: Actor, input: { reason: string; note?: string | undefined }, nowMs: number): Case {
  if (c.state !== 'open') throw new CaseConflict('state', `the case is ${c.state}; only an open case can be rejected`)
  return step(c, nowMs, { ...by(actor), event: 'rejected', reason: input.reason, ...note(input.note) }, 'rejected')
}

/**
 * An open case whose order the rules now allow (the customer paid, the limit was raised): nothing
 * is left for a person to do, so it leaves the worklist as `cleared` (undefined: not open).
 */
export function clearCase(c: Case, caller: string, decisionId: string, nowMs: number): Case | undefined {
  if (c.state !== 'open') return undefined
  return step(
    c,
    nowMs,
    { by: caller, event: 'cleared', reason: 'the rules now allow the order: nobody needs to release it', decision_id: decisionId },
    'cleared',
  )
}

/** An open case past its expiry, expired (undefined: nothing to do). */
export function expireCase(c: Case, nowMs: number): Case | undefined {
  if (c.state !== 'open' || Date.parse(c.expires_at) > nowMs) return undefined
  return step(
    c,
    nowMs,
    { by: 'creditgate', event: 'expired', reason: 'nobody released or rejected it in time (CASE_EXPIRE_DAYS)' },
    'expired',
  )
}

/**
 * Whether a released case covers an order of this amount now: the release is still valid and the
 * amount at most the released amount × (1 + tolerance). Otherwise why not, in words.
 */
export function covers(c: Case, amount: number, nowMs: number, tolerance: number): { ok: true } | { ok: false; why: string } {
  const release = c.release
  if (c.state !== 'released' || !release) return { ok: false, why: `the case is ${c.state}` }
  if (Date.parse(release.valid_until) < nowMs) return { ok: false, why: `the release expired at ${release.valid_until}` }
  if (amount > release.amount * (1 + tolerance)) {
    return { ok: false, why: `amount grew from ${formatAmount(release.amount)} to ${formatAmount(amount)}` }
  }
  return { ok: true }
}
