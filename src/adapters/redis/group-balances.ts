import type { GroupStore } from '../../services/group-exposure.js'
import type { RedisConnection } from './connection.js'
import type { RedisEvents } from './events.js'
import { createRedisSnapshots, snapshotKeys } from './snapshots.js'

/** Group balances in Redis: `creditgate:v1:{org}:group`, `{as_of, balances: {link value: outstanding}}` (redis/snapshots.ts). */
export const groupKeys = (org: string) => snapshotKeys('group', org)

export const createRedisGroupBalances = (link: RedisConnection & RedisEvents, local: GroupStore): GroupStore =>
  createRedisSnapshots<'balances', number>(link, local, { name: 'group_balances', field: 'balances' })
