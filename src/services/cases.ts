import { hash } from 'node:crypto'
import type { Actor } from '../domain/actor.js'
import {
  type Case,
  type CaseEventKind,
  caseLink,
  clearCase,
  covers,
  expireCase,
  type Hold,
  holdAgain,
  openCase,
  type Policy,
  type ReleaseInput,
  rejectCase,
  releaseCase,
  releaseLimit,
} from '../domain/case.js'
import type { RiskDecision } from '../domain/decision.js'
import type { RuleSet } from '../rules/rule-set.js'
import { type CaseListQuery, type CaseStore, listCases, openCases } from './case-list.js'
import type { DecideInput } from './decisions.js'

export type { CaseListQuery, CaseStore }

export interface CaseService {
  /** After the rules decided: honours a release of the order's reference, or opens/updates its case. */
  settle(input: DecideInput, answer: RiskDecision): Promise<RiskDecision>
  get(caseId: string): Promise<Case | undefined>
  /** A page of cases, oldest first, bounded (CASE_LIST_BOUNDS); next_cursor continues it. */
  list(query: CaseListQuery): Promise<{ cases: Case[]; next_cursor: string | null }>
  release(caseId: string, actor: Actor, input: ReleaseInput): Promise<Case | undefined>
  reject(caseId: string, actor: Actor, input: { reason: string; note?: string | undefined }): Promise<Case | undefined>
  /** Expires the open cases past CASE_EXPIRE_DAYS; the open ones left, and the oldest one's opened_at (ms) */
  sweep(): Promise<{ open: number; oldestOpenedMs: number | undefined }>
}

export interface CaseServiceOptions {
  store: CaseStore
  policy: Policy
  /** RELEASE_LIMITS by key name, person or role. */
  /** The release limits of the organization's cases, by key name, person or role. */
  limits: (org: string) => ReadonlyMap<string, number>
  organizations: () => readonly string[]
  /** The rules that decide for the organization. */
  rules: (org: string) => RuleSet
  now?: () => number
  /** Told of every transition, after it was stored. */
  onEvent?: (kind: CaseEventKind, c: Case) => void
  /** Told when the store failed during a decision (the decision is then answered as the rules made it). */
  onError?: (err: unknown) => void
}

/** One case per organization, contact and order reference: its id says which, without an index. */
export const caseIdFor = (org: string, contactId: string, reference: string) =>
  `case_${hash('sha256', `${org}\n${contactId}\n${reference}`, 'hex').slice(0, 24)}`

const CASE_ID = /^case_[0-9a-f]{24}$/
const ATTEMPTS = 3

/** Why a deterministic id, a revision compare-and-set and a leased outbox: ../../docs/decisions/009-cases.md */
export function createCaseService(options: CaseServiceOptions): CaseService {
  const { store, policy } = options
  const clock = options.now ?? Date.now
  const unreleasable = (org: string, reasons: RiskDecision['reasons']) => {
    const forced = new Set(
      options
        .rules(org)
        .rules.filter((r) => r.definition.releasable === false)
        .map((r) => r.definition.name),
    )
    return reasons.filter((r) => forced.has(r.rule)).map((r) => r.rule)
  }
  const find = async (caseId: string) => {
    if (!CASE_ID.test(caseId)) return undefined
    for (const org of options.organizations()) {
      const found = await store.get(org, caseId)
      if (found) return found
    }
    return undefined
  }
  /**
   * Applies a change to the case as stored now, retrying when another instance changed it
   * meanwhile. `change` returns the next case and its event, or null for no change.
   */
  const update = async (
    org: string,
    caseId: string,
    change: (current: Case | undefined) => { next: Case; event: CaseEventKind | null } | null,
  ): Promise<Case | undefined> => {
    for (let attempt = 1; ; attempt++) {
      const current = await store.get(org, caseId)
      const changed = change(current)
      if (!changed) return current
      if (await store.put(changed.next, current?.revision ?? 0)) {
        if (changed.event) options.onEvent?.(changed.event, changed.next)
        return changed.next
      }
      if (attempt >= ATTEMPTS) throw new Error(`the case ${caseId} kept changing while it was being updated`)
    }
  }
  const staff = (caseId: string, act: (c: Case, now: number) => Case) =>
    find(caseId).then((found) =>
      found
        ? update(found.organization_id, caseId, (current) => {
            const next = act(current as Case, clock())
            return { next, event: next.state as CaseEventKind }
          })
        : undefined,
    )

  const settle = async (input: DecideInput, answer: RiskDecision): Promise<RiskDecision> => {
    const order = input.order
    const reference = order?.reference
    if (!order || reference === undefined) return answer
    const org = answer.organization_id
    const caseId = caseIdFor(org, answer.contact_id, reference)
    const now = clock()
    const existing = await store.get(org, caseId)
    let why: string | undefined
    const forced = unreleasable(org, answer.reasons)
    if (existing?.state === 'released') {
      // A forced hold (a manual credit hold put on after the release) is never overridden by it.
      const covered =
        forced.length > 0
          ? { ok: false as const, why: `forced hold: ${forced.join(', ')}` }
          : covers(existing, order.amount, now, policy.tolerance)
      if (covered.ok) {
        const { reasons, ...rest } = answer
        return {
          ...rest,
          decision: 'allow',
          reasons: [],
          overridden: reasons,
          release: existing.release ?? undefined,
          case: caseLink(existing),
        }
      }
      why = covered.why
    }
    if (answer.decision === 'allow') {
      if (!existing || why !== undefined) return answer
      // An open case the rules now allow (the customer paid): it leaves the worklist, cleared.
      const cleared =
        existing.state === 'open' && !expireCase(existing, now)
          ? await update(org, caseId, (current) => {
              const next = current && !expireCase(current, now) && clearCase(current, input.caller ?? 'unknown', answer.decision_id, now)
              return next ? { next, event: 'cleared' } : null
            })
          : existing
      return { ...answer, case: caseLink(cleared ?? existing) }
    }
    const hold: Hold = {
      caseId,
      org,
      contactId: answer.contact_id,
      order: { reference, amount: order.amount, currency: order.currency },
      decisionId: answer.decision_id,
      decision: answer.decision,
      reasons: answer.reasons,
      unreleasable: forced,
      caller: input.caller ?? 'unknown',
    }
    const settled = await update(org, caseId, (current) => {
      if (!current) return { next: openCase(hold, now, policy), event: 'opened' }
      // An open case past its time expires first; asking again then re-opens it.
      const expired = expireCase(current, now) ?? current
      return holdAgain(expired, hold, now, policy, why)
    })
    return { ...answer, case: caseLink(settled as Case) }
  }

  return {
    async settle(input, answer) {
      try {
        return await settle(input, answer)
      } catch (err) {
        options.onError?.(err)
        return answer
      }
    },
    async get(caseId) {
      const found = await find(caseId)
      // Shown as it is: an open case past its time is expired, whether or not the sweep stored it yet.
      return found && (expireCase(found, clock()) ?? found)
    },
    // Oldest first: the worklist's order.
    list: (query) => listCases(store, query.organization === undefined ? options.organizations() : [query.organization], query, clock()),
    release: (caseId, actor, input) =>
      staff(caseId, (c, now) =>
        releaseCase(expireCase(c, now) ?? c, actor, input, now, policy, releaseLimit(options.limits(c.organization_id), actor)),
      ),
    reject: (caseId, actor, input) => staff(caseId, (c, now) => rejectCase(expireCase(c, now) ?? c, actor, input, now)),
    async sweep() {
      const now = clock()
      let open = 0
      let oldestOpenedMs: number | undefined
      for (const org of options.organizations()) {
        for await (const c of openCases(store, org)) {
          if (c.state !== 'open') continue
          if (expireCase(c, now)) {
            await update(org, c.case_id, (current) => {
              const next = current && expireCase(current, now)
              return next ? { next, event: 'expired' } : null
            })
            continue
          }
          open++
          const opened = Date.parse(c.opened_at)
          if (oldestOpenedMs === undefined || opened < oldestOpenedMs) oldestOpenedMs = opened
        }
      }
      return { open, oldestOpenedMs }
    },
  }
}
