import { z } from 'zod'
import { exactSum } from '../lib/decimal.js'

/**
 * Reservations (issue 24): an allowed order with a reference holds its amount for the customer
 * until Zoho shows the order, the order system cancels it, or it expires.
 */

/** An order reference as callers send it: what a person can type, bounded, no control characters. */
export const ReferenceSchema = z
  .string()
  .min(1)
  .max(100)
  // Unicode's control characters (Cc), spelled out: the OpenAPI pattern then reads the same without the u flag.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it refuses
  .regex(/^[^\u0000-\u001f\u007f-\u009f]+$/, 'must not contain control characters')
  .describe('Your order reference, 1 to 100 characters without control characters: the key of its reservation')

/** One customer's hold for one order. Times in ms. */
export interface Reservation {
  readonly reference: string
  readonly amount: number
  /** The caller key (or address) that made it: it, or an admin, may cancel it. */
  readonly caller: string
  readonly created_at: number
  readonly expires_at: number
  /** The as_of of the first receivables that listed the order: from then on Zoho's document counts it. */
  readonly matched_as_of?: number | undefined
  /** Made while Redis was unreachable and not yet written there (this instance's part of the degraded bound). */
  readonly degraded?: boolean | undefined
}

/** What Zoho lists of a customer's documents, and as of when (ms). */
export interface Listed {
  readonly references: ReadonlySet<string>
  readonly asOf: number
}

/** What a customer's receivables list, read at `asOf`. */
export const listedIn = (customer: { readonly references?: readonly string[] | undefined }, asOf: number): Listed => ({
  references: new Set(customer.references),
  asOf,
})

/**
 * Whether the reservation still counts, seen with the given receivables: not expired, and Zoho's
 * documents do not count the order yet. Receivables as old as the match, or newer, already
 * counted the order (or its invoice, paid since): counting the reservation too would count it
 * twice. Older receivables that do not list it leave it counting: once, never zero times.
 */
export function counts(reservation: Reservation, now: number, listed: Listed | undefined): boolean {
  if (reservation.expires_at <= now) return false
  if (!listed) return true
  if (listed.references.has(reservation.reference)) return false
  return reservation.matched_as_of === undefined || listed.asOf < reservation.matched_as_of
}

/** The sum of the amounts, exact. */
export const total = (reservations: readonly Reservation[]) => exactSum(...reservations.map((r) => r.amount))

export type ReservationMode = 'shared' | 'local' | 'degraded'

export const ReservationAnswerSchema = z
  .object({
    reference: z.string(),
    amount: z.number().describe('The order amount now held against the customer’s credit, base currency'),
    expires_at: z.string().describe('When the hold ends unless Zoho lists the order first or it is cancelled (ISO 8601)'),
    mode: z
      .enum(['shared', 'local', 'degraded'])
      .describe(
        'shared: held in Redis for every instance; local: no Redis configured, held in this process; degraded: Redis is configured but unreachable, held in this process within its part of the customer’s room (README "Reservations")',
      ),
  })
  .describe('The hold this allowed order placed (orders with a reference only)')
  .meta({ id: 'ReservationHeld' })

export type ReservationAnswer = z.output<typeof ReservationAnswerSchema>

export const RESERVATION_STATES = ['live', 'matched', 'expired'] as const

export const ReservationViewSchema = z
  .object({
    reference: z.string(),
    amount: z.number(),
    caller: z.string().describe('The API key name (or address) that made it'),
    created_at: z.string(),
    expires_at: z.string(),
    state: z
      .enum(RESERVATION_STATES)
      .describe('live: counts in reserved_bcy; matched: Zoho lists the order, which now counts instead; expired: about to be removed'),
  })
  .meta({ id: 'Reservation' })

export const ReservationListSchema = z
  .object({
    contact_id: z.string(),
    organization_id: z.string(),
    reserved_bcy: z.number().describe('The live reservations’ total: what decisions add to the exposure'),
    reservations: z.array(ReservationViewSchema),
    mode: z.enum(['shared', 'local', 'degraded']),
  })
  .meta({ id: 'ReservationList' })

export type ReservationView = z.output<typeof ReservationViewSchema>

/** Whether it is live for people: as the given receivables count it, else unmatched and unexpired. */
export const isLive = (reservation: Reservation, now: number, listed?: Listed | undefined) =>
  listed ? counts(reservation, now, listed) : reservation.matched_as_of === undefined && reservation.expires_at > now

/** A reservation as people see it; with the receivables, matched as soon as they list the order. */
export function view(reservation: Reservation, now: number, listed?: Listed | undefined): ReservationView {
  const state = reservation.expires_at <= now ? 'expired' : isLive(reservation, now, listed) ? 'live' : 'matched'
  return {
    reference: reservation.reference,
    amount: reservation.amount,
    caller: reservation.caller,
    created_at: new Date(reservation.created_at).toISOString(),
    expires_at: new Date(reservation.expires_at).toISOString(),
    state,
  }
}

/** What a locked step writes: a reservation put (replacing one of its reference), others dropped, others marked matched. */
export interface Change {
  readonly put?: Reservation | undefined
  readonly drop: readonly string[]
  readonly matched: readonly Reservation[]
}

/** A customer's reservations after a change. */
export function applied(current: readonly Reservation[], change: Change): Reservation[] {
  const held = new Map(current.map((r) => [r.reference, r]))
  for (const reference of change.drop) held.delete(reference)
  for (const r of change.matched) held.set(r.reference, r)
  if (change.put) held.set(change.put.reference, change.put)
  return [...held.values()]
}
