import type { CustomerPayments } from '../../domain/payments.js'
import type { PaymentsSnapshot, PaymentsStore } from '../../services/payments.js'
import { takeLock } from './client.js'
import { type RedisConnection, viaRedis } from './connection.js'
import type { RedisEvents } from './events.js'

/**
 * Payment snapshots in Redis: one string per organization, `{as_of, customers: {id: …}}`, replaced
 * whole with one SET (a daily pass; 5,000 customers are about 1.5 MB). While Redis is down, the
 * in-process store stands in (viaRedis).
 */
export const paymentsKeys = (org: string) => ({
  snapshot: `creditgate:v1:{${org}}:payments`,
  lock: `creditgate:v1:{${org}}:payments:lock`,
})

/** Longer than a pass over the largest organization takes (200 pages, each bounded by its timeout). */
const LOCK_MS = 10 * 60_000

function decode(raw: string | null): PaymentsSnapshot | undefined {
  if (raw === null) return undefined
  try {
    const { as_of, customers } = JSON.parse(raw) as { as_of: unknown; customers: Record<string, CustomerPayments> }
    if (typeof as_of !== 'number' || as_of <= 0 || typeof customers !== 'object' || customers === null) return undefined
    return { as_of, customers: new Map(Object.entries(customers)) }
  } catch {
    return undefined
  }
}

export function createRedisPayments(link: RedisConnection & RedisEvents, local: PaymentsStore): PaymentsStore {
  const listeners = new Set<(org: string) => void>()
  link.onEvent((event) => {
    if (event.type === 'payments') for (const listener of listeners) listener(event.org)
  })
  return {
    read: (org) =>
      viaRedis(
        link,
        async () => decode(await link.client.get(paymentsKeys(org).snapshot)),
        () => local.read(org),
      ),
    async replace(org, snapshot) {
      await local.replace(org, snapshot)
      await viaRedis(
        link,
        async () => {
          const value = JSON.stringify({ as_of: snapshot.as_of, customers: Object.fromEntries(snapshot.customers) })
          await link.client.set(paymentsKeys(org).snapshot, value)
          await link.publish({ type: 'payments', org })
        },
        async () => {},
      )
    },
    lock: (org) =>
      viaRedis(
        link,
        () => takeLock(link.client, paymentsKeys(org).lock, LOCK_MS),
        () => local.lock(org),
      ),
    onChange(listener) {
      listeners.add(listener)
    },
  }
}
