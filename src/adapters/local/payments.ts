import type { PaymentsSnapshot, PaymentsStore } from '../../services/payments.js'
import { createLocalSnapshots } from './snapshots.js'

/** Payment snapshots in this process: the store without Redis, and the fallback while Redis is down. */
export const createLocalPayments = (): PaymentsStore => createLocalSnapshots<PaymentsSnapshot>()
