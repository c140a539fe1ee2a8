import type { GroupBalances, GroupStore } from '../../services/group-exposure.js'
import { createLocalSnapshots } from './snapshots.js'

/** Group balances in this process: the store without Redis, and the fallback while Redis is down. */
export const createLocalGroupBalances = (): GroupStore => createLocalSnapshots<GroupBalances>()
