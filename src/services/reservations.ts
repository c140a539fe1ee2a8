import type { Decision } from '../domain/decision.js'
import type { Facts } from '../domain/facts.js'
import {
  type Change,
  counts,
  isLive,
  type Listed,
  type Reservation,
  type ReservationAnswer,
  type ReservationMode,
  type ReservationView,
  total,
  view,
} from '../domain/reservations.js'
import { exactSum } from '../lib/decimal.js'

/** Where reservations are kept: in this process, or in Redis for every instance. */
export interface ReservationStore {
  /**
   * Runs `work` on the customer's reservations, alone among every step on that customer across
   * instances, and writes the change it returns before anyone else may read them.
   */
  locked<T>(
    org: string,
    contactId: string,
    work: (current: readonly Reservation[], mode: ReservationMode) => Promise<{ result: T; change: Change }>,
  ): Promise<T>
  /** The customer's reservations, unlocked (a look, or a decision that holds nothing). */
  read(org: string, contactId: string): Promise<{ reservations: readonly Reservation[]; mode: ReservationMode }>
  /** Removes the organization's reservation with that reference, made by `caller` (anyone's when undefined); the removed one and its customer. */
  cancel(org: string, reference: string, caller: string | undefined): Promise<{ contactId: string; reservation: Reservation } | undefined>
  /** Removes what expired before `now` (each once across instances); the removed ones. */
  sweep(org: string, now: number): Promise<Reservation[]>
  /** Live (unexpired, unmatched) reservations of the organization. */
  live(org: string, now: number): Promise<number>
}

export type EndReason = 'matched' | 'cancelled' | 'expired'

export interface HoldInput {
  readonly org: string
  readonly contactId: string
  /** The order's reference and amount: an allow holds it. */
  readonly order?: { readonly reference?: string | undefined; readonly amount: number } | undefined
  readonly caller: string
  /** What Zoho lists of the customer; undefined when the rules read no receivables facts (reservations then count for nothing). */
  readonly listed: Listed | undefined
}

export interface Held<T> {
  readonly outcome: T
  readonly reservation?: ReservationAnswer | undefined
}

/** What a decision made with `reserved` came to: the hold needs its outcome and facts. */
export interface Outcome {
  readonly decision: Decision
  readonly facts: Pick<Facts, 'credit_limit' | 'outstanding_bcy' | 'open_orders_bcy'>
}

export interface ReservationService {
  /**
   * Decides with the customer's other live reservations (`decide(reserved)`), and for an allowed
   * order with a reference holds its amount: one step per customer across instances.
   */
  hold<T extends Outcome>(input: HoldInput, decide: (reserved: number | null) => Promise<T>): Promise<Held<T>>
  /** A customer's reservations, matched by the receivables given (else as a decision last saw them). */
  list(
    org: string,
    contactId: string,
    listed?: Listed | undefined,
  ): Promise<{ views: ReservationView[]; reserved: number; mode: ReservationMode }>
  /** Cancels the organization's reservation of that reference, made by `caller` (any, for an admin); undefined when there is none such. */
  cancel(
    org: string,
    reference: string,
    caller: string | undefined,
  ): Promise<{ reference: string; contact_id: string; amount: number } | undefined>
  /** Ends the organization's expired reservations (the plugin's timer). */
  sweep(org: string): Promise<void>
  live(org: string): Promise<number>
}

export interface ReservationOptions {
  store: ReservationStore
  ttlSeconds: number
  /** Live instances sharing Redis, as last seen: while it is down each may commit 1/N of a customer's room. */
  instances: () => number
  onEnd?: (reason: EndReason, count: number) => void
  now?: () => number
}

/**
 * While Redis is down, every instance decides alone. Each may then commit at most 1/N of the
 * room the customer had left (credit limit − outstanding − open orders − the reservations known
 * from Redis), N the live instances last seen: the other N − 1 parts are counted as reserved, so
 * that together the instances never pass the limit (../../docs/decisions/008-reservations.md).
 */
export function othersPart(facts: Outcome['facts'], known: number, instances: number): number {
  if (instances <= 1 || facts.credit_limit === null || facts.open_orders_bcy === null) return 0
  const room = Math.max(0, exactSum(facts.credit_limit, -facts.outstanding_bcy, -facts.open_orders_bcy, -known))
  return Math.round(((room * (instances - 1)) / instances) * 100) / 100
}

export function createReservationService(options: ReservationOptions): ReservationService {
  const clock = options.now ?? Date.now
  const ended = (reason: EndReason, count: number) => {
    if (count > 0) options.onEnd?.(reason, count)
  }
  return {
    async hold<T extends Outcome>(input: HoldInput, decide: (reserved: number | null) => Promise<T>): Promise<Held<T>> {
      const { org, contactId, order, listed } = input
      const reference = order?.reference
      if (reference === undefined) {
        if (!listed) return { outcome: await decide(null) }
        const { reservations } = await options.store.read(org, contactId)
        const now = clock()
        return { outcome: await decide(total(reservations.filter((r) => counts(r, now, listed)))) }
      }
      const held = await options.store.locked(org, contactId, async (current, mode) => {
        const now = clock()
        const others = current.filter((r) => r.reference !== reference && counts(r, now, listed))
        let outcome: T
        if (!listed) outcome = await decide(null)
        else if (mode !== 'degraded') outcome = await decide(total(others))
        else {
          // Degraded: the other instances' parts of the room count as reserved (othersPart).
          const reserved = total(others)
          const first = await decide(reserved)
          const part = othersPart(first.facts, total(others.filter((r) => !r.degraded)), options.instances())
          outcome = part > 0 ? await decide(exactSum(reserved, part)) : first
        }
        const expired = current.filter((r) => r.expires_at <= now)
        const matched = current.filter((r) => r.expires_at > now && r.matched_as_of === undefined && listed?.references.has(r.reference))
        const put: Reservation | undefined =
          outcome.decision === 'allow' && order
            ? {
                reference,
                amount: order.amount,
                caller: input.caller,
                created_at: now,
                expires_at: now + options.ttlSeconds * 1000,
                // Asked again for an order Zoho lists already (a retry): Zoho's document counts it.
                ...(listed?.references.has(reference) ? { matched_as_of: listed.asOf } : {}),
              }
            : undefined
        return {
          result: {
            outcome,
            reservation: put && { reference, amount: put.amount, expires_at: new Date(put.expires_at).toISOString(), mode },
            expired: expired.filter((r) => r.matched_as_of === undefined).length,
            matched: matched.length,
          },
          change: {
            put,
            drop: expired.map((r) => r.reference),
            matched: matched.filter((r) => r.reference !== put?.reference).map((r) => ({ ...r, matched_as_of: listed?.asOf })),
          },
        }
      })
      ended('expired', held.expired)
      ended('matched', held.matched)
      return held.reservation ? { outcome: held.outcome, reservation: held.reservation } : { outcome: held.outcome }
    },
    async list(org, contactId, listed) {
      const { reservations, mode } = await options.store.read(org, contactId)
      const now = clock()
      const views = reservations.map((r) => view(r, now, listed)).sort((a, b) => a.created_at.localeCompare(b.created_at))
      return { views, reserved: total(reservations.filter((r) => isLive(r, now, listed))), mode }
    },
    async cancel(org, reference, caller) {
      const removed = await options.store.cancel(org, reference, caller)
      if (!removed) return undefined
      ended('cancelled', 1)
      return { reference, contact_id: removed.contactId, amount: removed.reservation.amount }
    },
    async sweep(org) {
      const removed = await options.store.sweep(org, clock())
      ended('expired', removed.filter((r) => r.matched_as_of === undefined).length)
    },
    live: (org) => options.store.live(org, clock()),
  }
}
