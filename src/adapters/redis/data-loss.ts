import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisConnection } from './connection.js'

/** Written once; if it is gone after a reconnect, Redis restarted without its data. */
const EPOCH_KEY = 'creditgate:v1:epoch'

/** Whether Redis restarted empty: what was shared is gone, and the in-process copies refill it. */
export interface DataLoss {
  /** When Redis was last found to have lost its data (restarted empty), or 0. */
  readonly dataLostAt: number
}

/**
 * Checks on every return (the `check` step, before any `resync` task reads `dataLostAt`) that
 * the epoch key this instance saw is still there.
 */
export function watchDataLoss(connection: Pick<RedisConnection, 'client' | 'failed' | 'beforeUp'>, log: FastifyBaseLogger): DataLoss {
  const { client } = connection
  let epoch: string | undefined
  let dataLostAt = 0
  connection.beforeUp(async () => {
    try {
      await client.set(EPOCH_KEY, randomUUID(), 'NX')
      const now = (await client.get(EPOCH_KEY)) ?? undefined
      if (epoch !== undefined && now !== epoch) {
        dataLostAt = Date.now()
        log.warn('redis came back without its data: refilling it from this instance')
      }
      epoch = now
    } catch (err) {
      connection.failed(err)
    }
  }, 'check')
  return {
    get dataLostAt() {
      return dataLostAt
    },
  }
}
