import { randomUUID } from 'node:crypto'
import type { Reservation, ReservationMode } from '../../domain/reservations.js'
import { applied, type Change } from '../../domain/reservations.js'
import { Problem } from '../../errors.js'
import { createSerial } from '../../lib/serial.js'
import type { ReservationStore } from '../../services/reservations.js'
import { keyOf, type LocalReservations } from '../local/reservations.js'
import { DELETE_IF } from './client.js'
import { type RedisConnection, viaRedis } from './connection.js'
import type { DataLoss } from './data-loss.js'

/**
 * Reservations in Redis, every key of an organization in its Cluster slot: one hash per customer
 * (reference → the reservation), the organization's expiry index (a sorted set of
 * "contact\nreference" by expires_at, unmatched ones only), its reference → customer hash (for a
 * DELETE by reference), and a short per-customer lock. A step on a customer takes the lock (SET NX
 * PX with a token of its own), reads, decides, and writes with a script that checks the token
 * first: a step that outlived its lock writes nothing and starts again.
 * Why a per-customer lock, and 1/N of the room while Redis is down: ../../../docs/decisions/008-reservations.md
 */
export const reservationKeys = (org: string, contactId: string) => ({
  lock: `creditgate:v1:{${org}}:reservations:lock:${contactId}`,
  customer: `creditgate:v1:{${org}}:reservations:c:${contactId}`,
  expiry: `creditgate:v1:{${org}}:reservations:expiry`,
  refs: `creditgate:v1:{${org}}:reservations:refs`,
})

/** Longer than a step takes (a read, an evaluation, a write: milliseconds); a stalled holder loses it and starts again. */
export const LOCK_MS = 2000
/** How long a step waits for a customer's lock before the decision is a 503 (Retry-After 1). */
export const LOCK_WAIT_MS = 3000
/** Kept this long past the longest reservation, then Redis forgets the customer's keys. */
const KEEP_MARGIN_MS = 60_000

/** Keeps the keys KEYS[2..4] as long as ARGV (ms). */
const KEEP = `
for i = 2, 4 do if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end end
`

/** KEYS: lock, customer, expiry, refs. ARGV: keep ms, token, the change (JSON), contact. 0 when the lock is no longer ours. */
const WRITE = `
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
local change = cjson.decode(ARGV[3])
local contact = ARGV[4]
for _, reference in ipairs(change.drop) do
  redis.call('HDEL', KEYS[2], reference)
  redis.call('ZREM', KEYS[3], contact .. '\\n' .. reference)
  if redis.call('HGET', KEYS[4], reference) == contact then redis.call('HDEL', KEYS[4], reference) end
end
for _, m in ipairs(change.matched) do
  redis.call('HSET', KEYS[2], m[1], m[2])
  redis.call('ZREM', KEYS[3], contact .. '\\n' .. m[1])
end
if change.put then
  redis.call('HSET', KEYS[2], change.put[1], change.put[2])
  if change.put[3] then
    redis.call('ZADD', KEYS[3], change.put[3], contact .. '\\n' .. change.put[1])
  else
    redis.call('ZREM', KEYS[3], contact .. '\\n' .. change.put[1])
  end
  redis.call('HSET', KEYS[4], change.put[1], contact)
end
${KEEP}
return 1
`

/** KEYS: -, customer, expiry, refs. ARGV: keep ms, reference, record, contact, expires_at ('' when matched). Writes a reservation made while Redis was down, unless Redis has one of that reference. */
const RECONCILE = `
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  if ARGV[5] ~= '' then redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4] .. '\\n' .. ARGV[2]) end
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
  ${KEEP}
end
return 1
`

/** KEYS: customer, expiry, refs. ARGV: reference, contact, caller ('' for anyone's). The removed record, or nil. */
const CANCEL = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
if ARGV[3] ~= '' and cjson.decode(raw).caller ~= ARGV[3] then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2] .. '\\n' .. ARGV[1])
if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[3], ARGV[1]) end
return raw
`

/** KEYS: expiry, customer, refs. ARGV: member, reference, contact, now. Removes the member if it expired, once; its record. */
const SWEEP = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[4]) then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
local raw = redis.call('HGET', KEYS[2], ARGV[2])
if not raw or cjson.decode(raw).expires_at > tonumber(ARGV[4]) then return false end
redis.call('HDEL', KEYS[2], ARGV[2])
if redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[3] then redis.call('HDEL', KEYS[3], ARGV[2]) end
return raw
`

const encode = ({ reference: _, degraded: __, ...record }: Reservation) => JSON.stringify(record)

function decode(reference: string, raw: string): Reservation | undefined {
  try {
    const r = JSON.parse(raw) as Partial<Reservation>
    if (typeof r.amount !== 'number' || typeof r.caller !== 'string' || typeof r.expires_at !== 'number') return undefined
    return {
      reference,
      amount: r.amount,
      caller: r.caller,
      created_at: Number(r.created_at) || 0,
      expires_at: r.expires_at,
      ...(typeof r.matched_as_of === 'number' ? { matched_as_of: r.matched_as_of } : {}),
    }
  } catch {
    return undefined
  }
}

const decodeAll = (fields: Record<string, string>) => Object.entries(fields).flatMap(([reference, raw]) => decode(reference, raw) ?? [])

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function createRedisReservations(link: RedisConnection & DataLoss, local: LocalReservations, ttlSeconds: number): ReservationStore {
  const keep = ttlSeconds * 1000 + KEEP_MARGIN_MS
  const client = () => link.client
  // Back from an outage: what was reserved meanwhile is written before Redis is used again; and
  // when Redis came back without its data, every reservation this instance knows of.
  let lostSeen = link.dataLostAt
  link.beforeUp(async () => {
    const lost = link.dataLostAt !== lostSeen
    lostSeen = link.dataLostAt
    for (const entry of local.unsynced(lost)) {
      if (entry.reservation.expires_at <= Date.now()) continue
      const keys = reservationKeys(entry.org, entry.contactId)
      const { reservation } = entry
      await client().eval(
        RECONCILE,
        4,
        keys.lock,
        keys.customer,
        keys.expiry,
        keys.refs,
        keep,
        reservation.reference,
        encode(reservation),
        entry.contactId,
        reservation.matched_as_of === undefined ? reservation.expires_at : '',
      )
      local.synced(entry)
    }
  })

  async function write(org: string, contactId: string, token: string, change: Change): Promise<boolean> {
    const keys = reservationKeys(org, contactId)
    const put = change.put && [
      change.put.reference,
      encode(change.put),
      change.put.matched_as_of === undefined ? change.put.expires_at : false,
    ]
    const body = {
      drop: change.drop,
      matched: change.matched.map((r) => [r.reference, encode(r)]),
      ...(put ? { put } : {}),
    }
    const written = await client().eval(
      WRITE,
      4,
      keys.lock,
      keys.customer,
      keys.expiry,
      keys.refs,
      keep,
      token,
      JSON.stringify(body),
      contactId,
    )
    return written === 1
  }

  // This instance's steps on a customer queue here first: only one at a time asks Redis for the lock.
  const serial = createSerial()
  const locked: ReservationStore['locked'] = (org, contactId, work) =>
    serial(keyOf(org, contactId), () => lockedInRedis(org, contactId, work))
  const lockedInRedis: ReservationStore['locked'] = async (org, contactId, work) => {
    const keys = reservationKeys(org, contactId)
    const deadline = Date.now() + LOCK_WAIT_MS
    for (;;) {
      const token = randomUUID()
      while ((await client().set(keys.lock, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
        if (Date.now() >= deadline) {
          throw new Problem('upstream_unavailable', `the reservations of contact ${contactId} are busy; try again`, {
            retryAfterSeconds: 1,
          })
        }
        await pause(2 + Math.floor(Math.random() * 8))
      }
      try {
        const current = decodeAll(await client().hgetall(keys.customer))
        const { result, change } = await work(current, 'shared')
        if (await write(org, contactId, token, change)) {
          local.mirror(org, contactId, applied(current, change))
          return result
        }
        // The lock ran out under this step: another may have written since. Decide again.
      } finally {
        await client()
          .eval(DELETE_IF, 1, keys.lock, token)
          .catch(() => {})
      }
    }
  }

  return {
    locked: (org, contactId, work) =>
      viaRedis(
        link,
        () => locked(org, contactId, work),
        () => local.locked(org, contactId, work, 'degraded'),
      ),
    read: (org, contactId) =>
      viaRedis(
        link,
        async (): Promise<{ reservations: readonly Reservation[]; mode: ReservationMode }> => {
          const reservations = decodeAll(await client().hgetall(reservationKeys(org, contactId).customer))
          local.mirror(org, contactId, reservations)
          return { reservations, mode: 'shared' }
        },
        async () => ({ reservations: (await local.read(org, contactId)).reservations, mode: 'degraded' }),
      ),
    cancel: (org, reference, caller) =>
      viaRedis(
        link,
        async () => {
          const keys = reservationKeys(org, '')
          const contactId = await client().hget(keys.refs, reference)
          if (contactId === null) return undefined
          const { customer } = reservationKeys(org, contactId)
          const raw = (await client().eval(CANCEL, 3, customer, keys.expiry, keys.refs, reference, contactId, caller ?? '')) as
            | string
            | null
          const reservation = raw === null ? undefined : decode(reference, raw)
          if (!reservation) return undefined
          // The twin forgets it too, or a degraded moment would count it again.
          await local.cancel(org, reference, undefined)
          return { contactId, reservation }
        },
        () => local.cancel(org, reference, caller),
      ),
    sweep: (org, now) =>
      viaRedis(
        link,
        async () => {
          const { expiry, refs } = reservationKeys(org, '')
          const members = await client().zrangebyscore(expiry, '-inf', now, 'LIMIT', 0, 500)
          const ended: Reservation[] = []
          for (const member of members) {
            const [contactId = '', reference = ''] = member.split('\n')
            const { customer } = reservationKeys(org, contactId)
            const raw = (await client().eval(SWEEP, 3, expiry, customer, refs, member, reference, contactId, now)) as string | null
            const reservation = raw === null ? undefined : decode(reference, raw)
            if (reservation) ended.push(reservation)
          }
          await local.sweep(org, now)
          return ended
        },
        () => local.sweep(org, now),
      ),
    live: (org, now) =>
      viaRedis(
        link,
        () => client().zcount(reservationKeys(org, '').expiry, `(${now}`, '+inf'),
        () => local.live(org, now),
      ),
  }
}
