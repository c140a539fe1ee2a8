import type { CustomerPayments } from '../../domain/payments.js'
import type { PaymentsStore } from '../../services/payments.js'
import type { RedisConnection } from './connection.js'
import type { RedisEvents } from './events.js'
import { createRedisSnapshots, snapshotKeys } from './snapshots.js'

/** Payment snapshots in Redis: `creditgate:v1:{org}:payments`, `{as_of, customers: {id: …}}` (redis/snapshots.ts). */
export const paymentsKeys = (org: string) => snapshotKeys('payments', org)

export const createRedisPayments = (link: RedisConnection & RedisEvents, local: PaymentsStore): PaymentsStore =>
  createRedisSnapshots<'customers', CustomerPayments>(link, local, { name: 'payments', field: 'customers' })
