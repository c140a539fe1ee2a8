import type { FastifyBaseLogger } from 'fastify'
import { type CustomerPayments, listingStart, type PaidInvoice, paymentsByCustomer } from '../domain/payments.js'
import { todayIn } from '../domain/receivables.js'
import { createKeeper, type SnapshotStore } from './snapshots.js'

/** Where the organization's paid invoices come from (Zoho Books' List invoices, filter_by=Status.Paid). */
export interface PaymentsSource {
  /** One page (from 1, 200 invoices) of the paid invoices dated `since` (YYYY-MM-DD) or later: one call against the budget. */
  paidInvoicesPage(
    org: string,
    since: string,
    page: number,
    listing?: { readonly background?: boolean | undefined },
  ): Promise<{ items: PaidInvoice[]; more: boolean }>
}

/** An organization's payment facts by customer, computed from a complete listing read at `as_of` (ms). */
export interface PaymentsSnapshot {
  readonly as_of: number
  readonly customers: ReadonlyMap<string, CustomerPayments>
}

/** Where snapshots are kept: in this process, or in Redis for every instance. */
export type PaymentsStore = SnapshotStore<PaymentsSnapshot>

export interface Payments {
  /** The customer's payments; undefined when it paid no invoice in the 12 months. */
  readonly customer: CustomerPayments | undefined
  /** When the paid invoices were read from Zoho (ms). */
  readonly asOf: number
}

export interface PaymentsService {
  /** A customer's payment facts for a decision. Never made up: none (or too old) is upstream_unavailable. */
  forCustomer(org: string, customerId: string): Promise<Payments>
  /** Passes over the organizations whose snapshot is due, while a rule set reads payment facts; the plugin calls it on a timer. */
  refreshDue(): Promise<void>
  /** The age of each kept organization's snapshot in seconds (null while there is none). */
  ages(): Record<string, number | null>
  stop(): void
}

export interface PaymentsOptions {
  source: PaymentsSource
  store: PaymentsStore
  refreshSeconds: number
  staleSeconds: number
  /** The time zone (or each organization's) whose calendar dates the pass counts days in. */
  timeZone: string | ((org: string) => string)
  log: FastifyBaseLogger
  /** How long a decision waits for a first snapshot being read. */
  firstWaitMs: number
  /** Whether the active, shadow or a candidate rule set reads payment facts: passes run only then. */
  inUse: () => boolean
  onRefresh?: (result: 'ok' | 'failed') => void
  now?: () => number
}

/**
 * The payment facts' source: one organization-wide listing of paid invoices per pass, at most
 * every refreshSeconds, by one instance at a time (the store's lock) and shared through the
 * store. Every page is a background call: a pass never takes the calls kept for decisions, and
 * no decision causes a per-customer read. An organization is kept from the first decision whose
 * rules read payment facts. A pass that fails keeps the last complete snapshot, which ages;
 * older than staleSeconds it is not used (the decision follows FAIL_MODE).
 * Why one listing per organization, not a read per customer: ../../docs/decisions/010-payment-facts.md
 */
export function createPaymentsService(options: PaymentsOptions): PaymentsService {
  const now = options.now ?? Date.now
  const kept = new Set<string>()
  const keeper = createKeeper<PaymentsSnapshot>({
    store: options.store,
    log: options.log,
    what: 'payment facts',
    kept: (org) => kept.has(org),
    now,
  })
  const due = (org: string) => {
    const snapshot = keeper.copies.get(org)
    return !snapshot || now() - snapshot.as_of >= options.refreshSeconds * 1000
  }

  async function pass(org: string): Promise<void> {
    try {
      if (!due(org)) return
      const startedAt = now()
      const today = todayIn(typeof options.timeZone === 'string' ? options.timeZone : options.timeZone(org), startedAt)
      const since = listingStart(today)
      const invoices = await keeper.pages(
        (page) => options.source.paidInvoicesPage(org, since, page, { background: true }),
        'paid invoices',
      )
      const snapshot = { as_of: startedAt, customers: paymentsByCustomer(invoices, today) }
      keeper.copies.set(org, snapshot)
      await options.store.replace(org, snapshot)
      options.onRefresh?.('ok')
      options.log.info({ org, customers: snapshot.customers.size, invoices: invoices.length }, 'payment facts refreshed')
    } catch (err) {
      options.onRefresh?.('failed')
      options.log.warn({ org, err: { message: (err as Error).message } }, 'payment facts refresh failed; the last complete snapshot stays')
    }
  }

  return {
    async forCustomer(org, customerId) {
      if (!kept.has(org)) {
        kept.add(org)
        // In flight at once, so that decisions arriving meanwhile wait for it too (it loads a stored snapshot first).
        void keeper.once(org, () => pass(org))
      }
      const snapshot = await keeper.usable(
        org,
        options.firstWaitMs,
        options.staleSeconds,
        'PAYMENT_FACTS_STALE_SECONDS',
        `organization ${org}`,
      )
      return { customer: snapshot.customers.get(customerId), asOf: snapshot.as_of }
    },
    async refreshDue() {
      if (keeper.stopped || !options.inUse()) return
      await Promise.all([...kept].filter(due).map((org) => keeper.once(org, () => pass(org))))
    },
    ages: () => keeper.ages(kept),
    stop: () => keeper.stop(),
  }
}
