import type { FastifyBaseLogger } from 'fastify'
import { BudgetRefused } from '../adapters/zoho/ports.js'
import { type CustomerPayments, listingStart, type PaidInvoice, paymentsByCustomer } from '../domain/payments.js'
import { todayIn } from '../domain/receivables.js'
import { Problem } from '../errors.js'

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
export interface PaymentsStore {
  read(org: string): Promise<PaymentsSnapshot | undefined>
  replace(org: string, snapshot: PaymentsSnapshot): Promise<void>
  /** One pass of an organization at a time across instances: the release, or undefined when another holds it. */
  lock(org: string): Promise<(() => Promise<void>) | undefined>
  /** Another instance stored a new snapshot of the organization. */
  onChange(listener: (org: string) => void): void
}

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
  /** Payment and due dates are calendar dates in this zone. */
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

/** Pages a pass reads at most (200 × 200 = 40,000 paid invoices), as every listing of the Zoho client. */
export const MAX_PAGES = 200

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
  const snapshots = new Map<string, PaymentsSnapshot>()
  const kept = new Set<string>()
  const inFlight = new Map<string, Promise<void>>()
  /** Organizations another instance was passing over when this one tried. */
  const elsewhere = new Set<string>()
  let stopped = false
  /** Wakes the passes waiting for room in the budget (stop() wakes them to end). */
  const sleepers = new Set<() => void>()
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        sleepers.delete(wake)
        resolve()
      }
      // A pass waiting for room never keeps the process alive by itself.
      const timer = setTimeout(wake, ms).unref()
      sleepers.add(wake)
    })

  /**
   * Every page of the listing, in order. A page the budget refuses (a background call finds the
   * minute spent down to the reserve) waits for room and is asked again: a pass longer than a
   * minute's budget spreads over several minutes instead of failing and starting over.
   */
  async function listAll(org: string, since: string): Promise<PaidInvoice[]> {
    const invoices: PaidInvoice[] = []
    for (let page = 1; page <= MAX_PAGES; ) {
      try {
        const found = await options.source.paidInvoicesPage(org, since, page, { background: true })
        invoices.push(...found.items)
        if (!found.more) return invoices
        page++
      } catch (err) {
        if (!(err instanceof BudgetRefused)) throw err
        await sleep(err.verdict.retryAfterMs)
        if (stopped) throw err
      }
    }
    throw new Problem('upstream_error', `Zoho listed more than ${MAX_PAGES * 200} paid invoices; creditgate stops there`)
  }

  const load = async (org: string) => {
    const stored = await options.store.read(org)
    const mine = snapshots.get(org)
    if (stored && (!mine || stored.as_of >= mine.as_of)) snapshots.set(org, stored)
  }
  options.store.onChange((org) => {
    if (kept.has(org)) void load(org).catch((err) => options.log.warn({ err, org }, 'reading the payments snapshot failed'))
  })
  const due = (org: string) => {
    const snapshot = snapshots.get(org)
    return !snapshot || now() - snapshot.as_of >= options.refreshSeconds * 1000
  }

  async function pass(org: string): Promise<void> {
    const release = await options.store.lock(org)
    if (!release) {
      elsewhere.add(org)
      return
    }
    elsewhere.delete(org)
    try {
      // Another instance may have passed a moment ago.
      await load(org).catch(() => {})
      if (!due(org)) return
      const startedAt = now()
      const today = todayIn(typeof options.timeZone === 'string' ? options.timeZone : options.timeZone(org), startedAt)
      const invoices = await listAll(org, listingStart(today))
      const snapshot = { as_of: startedAt, customers: paymentsByCustomer(invoices, today) }
      snapshots.set(org, snapshot)
      await options.store.replace(org, snapshot)
      options.onRefresh?.('ok')
      options.log.info({ org, customers: snapshot.customers.size, invoices: invoices.length }, 'payment facts refreshed')
    } catch (err) {
      options.onRefresh?.('failed')
      options.log.warn({ org, err: { message: (err as Error).message } }, 'payment facts refresh failed; the last complete snapshot stays')
    } finally {
      await release()
    }
  }
  /** One pass of an organization at a time in this process. */
  const once = (org: string) => {
    let running = inFlight.get(org)
    if (!running) {
      running = pass(org).finally(() => inFlight.delete(org))
      inFlight.set(org, running)
    }
    return running
  }
  const unavailable = (detail: string) => new Problem('upstream_unavailable', detail, { retryAfterSeconds: 30 })

  return {
    async forCustomer(org, customerId) {
      if (!kept.has(org)) {
        kept.add(org)
        // In flight at once, so that decisions arriving meanwhile wait for it too (it loads a stored snapshot first).
        void once(org)
      }
      // The first pass is under way here or elsewhere: wait for it a little.
      const deadline = now() + options.firstWaitMs
      while (!snapshots.has(org) && now() < deadline && (inFlight.has(org) || elsewhere.has(org))) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        await load(org).catch(() => {})
      }
      const snapshot = snapshots.get(org)
      if (!snapshot) throw unavailable(`no payment facts of organization ${org} have been read from Zoho yet`)
      const ageSeconds = Math.floor((now() - snapshot.as_of) / 1000)
      if (ageSeconds > options.staleSeconds) {
        throw unavailable(`the payment facts of organization ${org} are ${ageSeconds} s old, more than PAYMENT_FACTS_STALE_SECONDS`)
      }
      return { customer: snapshot.customers.get(customerId), asOf: snapshot.as_of }
    },
    async refreshDue() {
      if (stopped || !options.inUse()) return
      await Promise.all([...kept].filter(due).map(once))
    },
    ages() {
      const out: Record<string, number | null> = {}
      for (const org of kept) {
        const snapshot = snapshots.get(org)
        out[org] = snapshot ? Math.floor((now() - snapshot.as_of) / 1000) : null
      }
      return out
    },
    stop() {
      stopped = true
      for (const wake of sleepers) wake()
    },
  }
}
