import { BudgetRefused } from '../adapters/zoho/ports.js'
import { groupByCustomer, NO_RECEIVABLES } from '../domain/receivables.js'
import { Problem } from '../errors.js'
import {
  CUSTOMER_READ_CALLS,
  CUSTOMER_SPACING_MS,
  type ReceivablesOptions,
  type ReceivablesReader,
  type Snapshot,
  type StoredCustomer,
  WEBHOOK_GATHER_MS,
} from './receivables-ports.js'

// The ports and the contract are in receivables-ports.ts; the plugin and tests import these from here.
export type { Receivables, ReceivablesOptions, ReceivablesReader } from './receivables-ports.js'

/** Customers waiting for a read per organization; past this many a whole-organization read covers them anyway. */
const MAX_PENDING = 10_000
/** Documents a listing page holds (per_page). */
const PAGE = 200

/** A customer waiting for a webhook-driven read: not before `notBefore`; `holder` is the claim it waited behind. */
interface Pending {
  notBefore: number
  holder?: string | undefined
}

/** Webhook-driven reads of one organization in this process: the customers waiting, and whether a read is under way. */
interface Queue {
  readonly pending: Map<string, Pending>
  draining: boolean
}

/** What a background read came to: done (or failed for good), or try again in `retryInMs`. */
type Outcome = { retryInMs: number } | undefined

const retryOf = (err: unknown): Outcome => (err instanceof BudgetRefused ? { retryInMs: err.verdict.retryAfterMs } : undefined)

/**
 * The receivables facts' source: organization-wide listings, refreshed in the background every
 * refreshSeconds by one instance at a time and shared through the store; decisions read this
 * process's copy and never wait for a per-contact fan-out. An organization is kept from the first
 * decision whose rules use receivables facts: a contact-only rule set makes no listing call.
 * A listing that fails half way keeps the previous complete snapshot, which then ages.
 *
 * Background reads (the timer's refreshes, webhooks') never take the calls kept for decisions
 * (the budget's reserve). Webhooks are merged: a read starts WEBHOOK_GATHER_MS after the webhook;
 * a customer named while its read is waiting is read once, and one named while its read is under
 * way or recent (CUSTOMER_SPACING_MS, across instances) once more after it, not once per webhook;
 * an organization is read one customer at a time, or as a whole when that costs fewer calls than
 * the customers waiting. A read the budget refuses waits until the budget has room.
 */
export function createReceivablesService(options: ReceivablesOptions): ReceivablesReader {
  const now = options.now ?? Date.now
  const gatherMs = options.gatherMs ?? WEBHOOK_GATHER_MS
  const spacingMs = options.customerSpacingMs ?? CUSTOMER_SPACING_MS
  const snapshots = new Map<string, Snapshot>()
  /** Organizations kept fresh, and a refresh or load in flight for each. */
  const kept = new Set<string>()
  const inFlight = new Map<string, Promise<void>>()
  /** Organizations another instance was refreshing when this one tried. */
  const elsewhere = new Set<string>()
  const queues = new Map<string, Queue>()
  /** Wakes the background reads waiting for a retry (stop() wakes them to end). */
  const sleepers = new Set<() => void>()
  let stopped = false

  const load = async (org: string) => {
    const stored = await options.store.read(org)
    const mine = snapshots.get(org)
    if (stored && (!mine || stored.as_of >= mine.as_of)) snapshots.set(org, stored)
  }
  options.store.onChange((org) => {
    if (kept.has(org)) void load(org).catch((err) => options.log.warn({ err, org }, 'reading the receivables snapshot failed'))
  })

  /**
   * Reads the whole organization (under its lock) unless another instance holds the lock, or it is
   * not due and not `forced`. Background reads leave the reserve to decisions.
   */
  async function refresh(org: string, background: boolean, forced = false): Promise<Outcome> {
    const release = await options.store.lock(org)
    if (!release) {
      elsewhere.add(org)
      return { retryInMs: 1000 }
    }
    elsewhere.delete(org)
    try {
      // Another instance may have refreshed it a moment ago.
      await load(org).catch(() => {})
      if (!forced && !due(org)) return undefined
      const startedAt = now()
      // One listing after the other: a background job need not hurry, and Zoho's concurrency is shared.
      const invoices = await options.source.listOpenInvoices(org, { background })
      const orders = await options.source.listOpenSalesOrders(org, { background })
      const snapshot = { as_of: startedAt, customers: groupByCustomer(invoices, orders) }
      snapshots.set(org, snapshot)
      await options.store.replace(org, snapshot)
      options.onRefresh?.('ok', 'organization')
      options.log.info(
        { org, customers: snapshot.customers.size, invoices: invoices.length, orders: orders.length },
        'receivables refreshed',
      )
      return undefined
    } catch (err) {
      options.onRefresh?.('failed', 'organization')
      options.log.warn({ org, err: { message: (err as Error).message } }, 'receivables refresh failed; the last complete snapshot stays')
      return retryOf(err)
    } finally {
      await release()
    }
  }
  const due = (org: string) => {
    const snapshot = snapshots.get(org)
    return !snapshot || now() - snapshot.as_of >= options.refreshSeconds * 1000
  }
  /** One refresh (or first load) of an organization at a time in this process. */
  const once = (org: string, work: () => Promise<unknown>) => {
    let running = inFlight.get(org)
    if (!running) {
      running = work()
        .then(() => {})
        .finally(() => inFlight.delete(org))
      inFlight.set(org, running)
    }
    return running
  }
  const unavailable = (detail: string) => new Problem('upstream_unavailable', detail, { retryAfterSeconds: 30 })

  async function readCustomer(org: string, customerId: string): Promise<Outcome> {
    const startedAt = now()
    try {
      const listing = { customerId, background: true }
      const invoices = await options.source.listOpenInvoices(org, listing)
      const orders = await options.source.listOpenSalesOrders(org, listing)
      const customer: StoredCustomer = { ...(groupByCustomer(invoices, orders).get(customerId) ?? NO_RECEIVABLES), as_of: startedAt }
      const snapshot = snapshots.get(org)
      if (snapshot) snapshots.set(org, { ...snapshot, customers: new Map(snapshot.customers).set(customerId, customer) })
      await options.store.replaceCustomer(org, customerId, customer)
      options.onRefresh?.('ok', 'customer')
      return undefined
    } catch (err) {
      options.onRefresh?.('failed', 'customer')
      options.log.warn({ org, customerId, err: { message: (err as Error).message } }, 'refreshing a customer’s receivables failed')
      return retryOf(err)
    }
  }

  /** The listing calls of a whole-organization read, estimated from its snapshot: invoice pages and two sales-order listings. */
  const wholeReadCalls = (org: string) => {
    let invoices = 0
    for (const customer of snapshots.get(org)?.customers.values() ?? []) invoices += customer.invoices.length
    return Math.max(1, Math.ceil(invoices / PAGE)) + 2
  }

  /** Puts customers (back) in the queue, keeping an earlier mark of the same customer. */
  const enqueue = (queue: Queue, ids: Iterable<string>, notBefore: number) => {
    for (const id of ids) if (!queue.pending.has(id) && queue.pending.size < MAX_PENDING) queue.pending.set(id, { notBefore })
  }

  /** One step of an organization's queue; the ms to wait before the next (0: at once). */
  async function step(org: string, queue: Queue): Promise<number> {
    const at = now()
    const ready = [...queue.pending].find(([, mark]) => mark.notBefore <= at)
    if (!ready) return Math.min(...[...queue.pending.values()].map((mark) => mark.notBefore)) - at
    // Many customers at once (a bulk payment run, an invoice import): one read of the whole organization costs less.
    if (queue.pending.size * CUSTOMER_READ_CALLS > wholeReadCalls(org)) {
      const ids = [...queue.pending.keys()]
      queue.pending.clear()
      const outcome = await refresh(org, true, true)
      if (outcome) enqueue(queue, ids, now() + outcome.retryInMs)
      return 0
    }
    const [customerId, mark] = ready
    const claim = await options.store.claimCustomer(org, customerId, spacingMs)
    if (claim) {
      // A read claimed after this customer was named covers it; otherwise it waits for that claim to end.
      if (mark.holder !== undefined && mark.holder !== claim.holder) queue.pending.delete(customerId)
      else queue.pending.set(customerId, { holder: claim.holder, notBefore: now() + claim.endsInMs })
      return 0
    }
    queue.pending.delete(customerId)
    const outcome = await readCustomer(org, customerId)
    if (outcome) enqueue(queue, [customerId], now() + outcome.retryInMs)
    return 0
  }

  async function drain(org: string, queue: Queue): Promise<void> {
    if (queue.draining) return
    queue.draining = true
    try {
      while (queue.pending.size > 0 && !stopped) {
        const wait = await step(org, queue)
        if (wait > 0) {
          await new Promise<void>((resolve) => {
            const wake = () => {
              clearTimeout(timer)
              sleepers.delete(wake)
              resolve()
            }
            // A read waiting for room never keeps the process alive by itself.
            const timer = setTimeout(wake, wait).unref()
            sleepers.add(wake)
          })
        }
      }
    } catch (err) {
      options.log.warn(
        { org, err: { message: (err as Error).message } },
        'background receivables reads stopped; the next webhook starts them again',
      )
    } finally {
      queue.draining = false
    }
  }

  /**
   * The organizations of `orgs` that own the customer: where its receivables are kept and it is
   * in the snapshot (it has open documents) or the contact cache (it was decided on). When none is
   * known to (nothing open, no decision within the cache's stale horizon), every one that keeps
   * receivables: a missed invoice could turn a block into an allow, and these reads are merged and
   * never take the decisions' reserve. (A cached "does not exist" is no evidence against: it lasts
   * a minute, and a webhook naming the customer says it exists now.)
   */
  async function owners(orgs: readonly string[], customerId: string): Promise<string[]> {
    const kept: string[] = []
    const owning: string[] = []
    for (const org of orgs) {
      // Only an organization whose receivables are kept (here, or by another instance through the store).
      if (!snapshots.has(org)) await load(org).catch(() => {})
      const snapshot = snapshots.get(org)
      if (!snapshot) continue
      kept.push(org)
      if (snapshot.customers.has(customerId) || (await options.contactKnown?.(org, customerId).catch(() => undefined))) owning.push(org)
    }
    return owning.length > 0 ? owning : kept
  }

  return {
    async forCustomer(org, customerId) {
      if (!kept.has(org)) {
        kept.add(org)
        // A decision waits for this first read: it may use the whole budget.
        await once(org, async () => {
          await load(org).catch(() => {})
          if (due(org)) await refresh(org, false)
        }).catch(() => {})
      }
      // The first listing is being read, here or by another instance: wait for it a little.
      const deadline = now() + options.firstWaitMs
      while (!snapshots.has(org) && now() < deadline && (inFlight.has(org) || elsewhere.has(org))) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        await load(org).catch(() => {})
      }
      const snapshot = snapshots.get(org)
      if (!snapshot) throw unavailable(`no receivables of organization ${org} have been read from Zoho yet`)
      const customer = snapshot.customers.get(customerId)
      const asOf = Math.max(snapshot.as_of, customer?.as_of ?? 0)
      const ageSeconds = Math.floor((now() - asOf) / 1000)
      if (ageSeconds > options.staleSeconds) {
        throw unavailable(`the receivables of organization ${org} are ${ageSeconds} s old, more than RECEIVABLES_STALE_SECONDS`)
      }
      return { customer: customer ?? NO_RECEIVABLES, asOf }
    },
    async snapshot(org) {
      const mine = kept.has(org) ? snapshots.get(org) : undefined
      return mine ?? (await options.store.read(org))
    },
    async customerChanged(orgs, customerId) {
      for (const org of await owners(orgs, customerId)) {
        let queue = queues.get(org)
        if (!queue) {
          queue = { pending: new Map(), draining: false }
          queues.set(org, queue)
        }
        // Named while waiting: the read to come covers it.
        enqueue(queue, [customerId], now() + gatherMs)
        void drain(org, queue)
      }
    },
    async refreshDue() {
      await Promise.all([...kept].filter(due).map((org) => once(org, () => refresh(org, true))))
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
