import type { Reservation, ReservationMode } from '../../domain/reservations.js'
import { applied, type Change } from '../../domain/reservations.js'
import { createSerial } from '../../lib/serial.js'
import type { ReservationStore } from '../../services/reservations.js'

/** A reservation made while Redis was down, and whose it is. */
export interface Unsynced {
  readonly org: string
  readonly contactId: string
  readonly reservation: Reservation
}

/**
 * Reservations in this process: the store without Redis (mode `local`), and Redis's twin while
 * it is down (`degraded`). As a twin it mirrors what Redis held of the customers it saw, so that
 * a degraded decision still counts them, and keeps what it reserved meanwhile until Redis has it.
 */
export interface LocalReservations extends ReservationStore {
  locked<T>(
    org: string,
    contactId: string,
    work: (current: readonly Reservation[], mode: ReservationMode) => Promise<{ result: T; change: Change }>,
    mode?: ReservationMode,
  ): Promise<T>
  /** What Redis holds of a customer now: replaces the copy, keeping the reservations made while degraded. */
  mirror(org: string, contactId: string, reservations: readonly Reservation[]): void
  /** The reservations made while degraded, not yet in Redis; with `all`, every one this process knows of. */
  unsynced(all?: boolean): Unsynced[]
  /** Redis has it now. */
  synced(entry: Unsynced): void
}

export const keyOf = (org: string, contactId: string) => `${org}\n${contactId}`

export function createLocalReservations(mode: ReservationMode = 'local'): LocalReservations {
  /** org → contact → reference → reservation. */
  const orgs = new Map<string, Map<string, Map<string, Reservation>>>()
  /** Each customer's locked steps, one after the other. */
  const serial = createSerial()
  const customer = (org: string, contactId: string) => {
    let contacts = orgs.get(org)
    if (!contacts) {
      contacts = new Map()
      orgs.set(org, contacts)
    }
    let found = contacts.get(contactId)
    if (!found) {
      found = new Map()
      contacts.set(contactId, found)
    }
    return found
  }
  const forget = (org: string, contactId: string) => {
    if (orgs.get(org)?.get(contactId)?.size === 0) orgs.get(org)?.delete(contactId)
  }
  const apply = (org: string, contactId: string, change: Change, stepMode: ReservationMode) => {
    const held = customer(org, contactId)
    const put = change.put && stepMode === 'degraded' ? { ...change.put, degraded: true } : change.put
    const after = applied([...held.values()], { ...change, put })
    held.clear()
    for (const r of after) held.set(r.reference, r)
    forget(org, contactId)
  }
  const all = (org: string) =>
    [...(orgs.get(org) ?? new Map<string, Map<string, Reservation>>())].flatMap(([contactId, held]) =>
      [...held.values()].map((reservation) => ({ contactId, reservation })),
    )
  return {
    locked(org, contactId, work, stepMode = mode) {
      return serial(keyOf(org, contactId), async () => {
        const { result, change } = await work([...customer(org, contactId).values()], stepMode)
        apply(org, contactId, change, stepMode)
        return result
      })
    },
    async read(org, contactId) {
      const reservations = [...(orgs.get(org)?.get(contactId)?.values() ?? [])]
      return { reservations, mode }
    },
    async cancel(org, reference, caller) {
      const found = all(org).find(
        ({ reservation }) => reservation.reference === reference && (caller === undefined || reservation.caller === caller),
      )
      if (!found) return undefined
      orgs.get(org)?.get(found.contactId)?.delete(reference)
      forget(org, found.contactId)
      return found
    },
    async sweep(org, now) {
      const expired = all(org).filter(({ reservation }) => reservation.expires_at <= now)
      for (const { contactId, reservation } of expired) orgs.get(org)?.get(contactId)?.delete(reservation.reference)
      for (const { contactId } of expired) forget(org, contactId)
      return expired.map(({ reservation }) => reservation)
    },
    async live(org, now) {
      return all(org).filter(({ reservation }) => reservation.expires_at > now && reservation.matched_as_of === undefined).length
    },
    mirror(org, contactId, reservations) {
      const held = customer(org, contactId)
      const mine = [...held.values()].filter((r) => r.degraded)
      held.clear()
      for (const r of reservations) held.set(r.reference, r)
      for (const r of mine) if (!held.has(r.reference)) held.set(r.reference, r)
      forget(org, contactId)
    },
    unsynced(everything = false) {
      return [...orgs.keys()].flatMap((org) =>
        all(org)
          .filter(({ reservation }) => everything || reservation.degraded)
          .map(({ contactId, reservation }) => ({ org, contactId, reservation })),
      )
    },
    synced({ org, contactId, reservation }) {
      const held = orgs.get(org)?.get(contactId)
      const current = held?.get(reservation.reference)
      if (current?.degraded) {
        const { degraded: _, ...written } = current
        held?.set(reservation.reference, written)
      }
    },
  }
}
