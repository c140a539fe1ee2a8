import { randomUUID } from 'node:crypto'
import type { ReceivablesStore, Snapshot, StoredCustomer } from '../../services/receivables-ports.js'
import { takeLock } from './client.js'
import { type RedisConnection, viaRedis } from './connection.js'
import type { RedisEvents } from './events.js'

/**
 * Receivables snapshots in Redis, one hash per organization (hash-tagged, so that a new snapshot
 * replaces the old one with one RENAME in one Cluster slot): field `as_of`, and one field per
 * customer with its open invoices as [due_date, balance_bcy] pairs, its open orders' total and the
 * references of its documents (what ends a reservation).
 * While Redis is down, the in-process store stands in (the one fallback, viaRedis).
 */
export const receivablesKeys = (org: string) => ({
  snapshot: `creditgate:v1:{${org}}:receivables`,
  next: `creditgate:v1:{${org}}:receivables:next`,
  lock: `creditgate:v1:{${org}}:receivables:lock`,
})

/** The claim of a customer's next webhook-driven read (see ReceivablesStore.claimCustomer). */
export const customerClaimKey = (org: string, customerId: string) => `creditgate:v1:{${org}}:receivables:claim:${customerId}`

/** Claims the key for ARGV[2] ms with a new holder id (ARGV[1]), or says who holds it and for how long. */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, '', 0} end
return {0, redis.call('GET', KEYS[1]) or '', redis.call('PTTL', KEYS[1])}
`

/** Longer than a refresh of the largest organization takes; the holder renews nothing (a refresh is bounded by its calls' timeouts). */
const LOCK_MS = 5 * 60_000

const encode = (customer: StoredCustomer) =>
  JSON.stringify({
    i: customer.invoices.map((inv) => [inv.due_date, inv.balance_bcy]),
    o: customer.open_orders_bcy,
    a: customer.as_of,
    ...(customer.references ? { r: customer.references } : {}),
    ...(customer.name ? { n: customer.name } : {}),
  })

function decode(raw: string): StoredCustomer | undefined {
  try {
    const { i, o, a, r, n } = JSON.parse(raw) as { i: [string | null, number][]; o: number; a?: number; r?: unknown; n?: unknown }
    if (!Array.isArray(i) || typeof o !== 'number') return undefined
    const references = Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : []
    return {
      invoices: i.map(([due_date, balance_bcy]) => ({ due_date, balance_bcy })),
      open_orders_bcy: o,
      as_of: a,
      ...(references.length > 0 ? { references } : {}),
      ...(typeof n === 'string' ? { name: n } : {}),
    }
  } catch {
    return undefined
  }
}

export function createRedisReceivables(link: RedisConnection & RedisEvents, local: ReceivablesStore): ReceivablesStore {
  const listeners = new Set<(org: string) => void>()
  link.onEvent((event) => {
    if (event.type === 'receivables') for (const listener of listeners) listener(event.org)
  })
  return {
    read: (org) =>
      viaRedis(
        link,
        async (): Promise<Snapshot | undefined> => {
          const fields = await link.client.hgetall(receivablesKeys(org).snapshot)
          const asOf = Number(fields.as_of)
          if (!Number.isFinite(asOf) || asOf <= 0) return undefined
          const customers = new Map<string, StoredCustomer>()
          for (const [field, raw] of Object.entries(fields)) {
            if (!field.startsWith('c:')) continue
            const customer = decode(raw)
            if (customer) customers.set(field.slice(2), customer)
          }
          return { as_of: asOf, customers }
        },
        () => local.read(org),
      ),
    async replace(org, snapshot) {
      await local.replace(org, snapshot)
      await viaRedis(
        link,
        async () => {
          const keys = receivablesKeys(org)
          const fields = [...snapshot.customers].flatMap(([id, customer]) => [`c:${id}`, encode(customer)])
          const chunk = 2000
          await link.client.del(keys.next)
          for (let i = 0; i < fields.length; i += chunk) await link.client.hset(keys.next, ...fields.slice(i, i + chunk))
          await link.client.hset(keys.next, 'as_of', String(snapshot.as_of))
          await link.client.rename(keys.next, keys.snapshot)
          await link.publish({ type: 'receivables', org })
        },
        async () => {},
      )
    },
    async replaceCustomer(org, customerId, customer) {
      await local.replaceCustomer(org, customerId, customer)
      await viaRedis(
        link,
        async () => {
          // Only into a snapshot that exists: a customer alone is not a picture of the organization.
          if (await link.client.hexists(receivablesKeys(org).snapshot, 'as_of')) {
            await link.client.hset(receivablesKeys(org).snapshot, `c:${customerId}`, encode(customer))
            await link.publish({ type: 'receivables', org })
          }
        },
        async () => {},
      )
    },
    lock: (org) =>
      viaRedis(
        link,
        () => takeLock(link.client, receivablesKeys(org).lock, LOCK_MS),
        () => local.lock(org),
      ),
    claimCustomer: (org, customerId, ms) =>
      viaRedis(
        link,
        async () => {
          const [claimed, holder, endsInMs] = (await link.client.eval(CLAIM, 1, customerClaimKey(org, customerId), randomUUID(), ms)) as [
            number,
            string,
            number,
          ]
          return claimed === 1 ? undefined : { holder, endsInMs: Math.max(0, endsInMs) }
        },
        () => local.claimCustomer(org, customerId, ms),
      ),
    onChange(listener) {
      listeners.add(listener)
    },
  }
}
