import type { FastifyBaseLogger } from 'fastify'
import {
  type CustomerReceivables,
  groupByCustomer,
  type ListedInvoice,
  type ListedSalesOrder,
  NO_RECEIVABLES,
} from '../domain/receivables.js'
import { Problem } from '../errors.js'

/** Where the organization's open invoices and sales orders come from (Zoho Books' listings). */
export interface ReceivablesSource {
  listOpenInvoices(org: string, customerId?: string): Promise<ListedInvoice[]>
  listOpenSalesOrders(org: string, customerId?: string): Promise<ListedSalesOrder[]>
}

/** A customer's receivables, and when they were read if later than the snapshot (a webhook refreshed them). */
export type StoredCustomer = CustomerReceivables & { readonly as_of?: number | undefined }

/** A complete picture of an organization's open receivables, read at `as_of` (ms). */
export interface Snapshot {
  readonly as_of: number
  readonly customers: ReadonlyMap<string, StoredCustomer>
}

/** Where snapshots are kept: in this process, or in Redis for every instance. */
export interface ReceivablesStore {
  read(org: string): Promise<Snapshot | undefined>
  /** Replaces the organization's snapshot as a whole, at once. */
  replace(org: string, snapshot: Snapshot): Promise<void>
  /** Replaces one customer's entry of the snapshot. */
  replaceCustomer(org: string, customerId: string, customer: StoredCustomer): Promise<void>
  /** One refresh of an organization at a time across instances: the release, or undefined when another holds it. */
  lock(org: string): Promise<(() => Promise<void>) | undefined>
  /** Another instance stored something new for the organization. */
  onChange(listener: (org: string) => void): void
}

export interface Receivables {
  readonly customer: CustomerReceivables
  /** When they were read from Zoho (ms). */
  readonly asOf: number
}

export interface ReceivablesService {
  /** A customer's receivables for a decision. Never made up: none usable (or too old) is upstream_unavailable. */
  forCustomer(org: string, customerId: string): Promise<Receivables>
  /** Re-reads one customer now (a Zoho webhook named it). Call it only when the rules read receivables facts. */
  refreshCustomer(org: string, customerId: string): Promise<void>
  /** Refreshes the organizations whose snapshot is due; the plugin calls it on a timer. */
  refreshDue(): Promise<void>
  /** The age of each kept organization's snapshot in seconds (null while there is none). */
  ages(): Record<string, number | null>
}

export interface ReceivablesOptions {
  source: ReceivablesSource
  store: ReceivablesStore
  refreshSeconds: number
  staleSeconds: number
  log: FastifyBaseLogger
  /** How long a decision waits for a first snapshot being read. */
  firstWaitMs: number
  onRefresh?: (result: 'ok' | 'failed', kind: 'organization' | 'customer') => void
  now?: () => number
}

/**
 * The receivables facts' source: organization-wide listings, refreshed in the background every
 * refreshSeconds by one instance at a time and shared through the store; decisions read this
 * process's copy and never wait for a per-contact fan-out. An organization is kept from the first
 * decision whose rules use receivables facts: a contact-only rule set makes no listing call.
 * A listing that fails half way keeps the previous complete snapshot, which then ages.
 */
export function createReceivablesService(options: ReceivablesOptions): ReceivablesService {
  const now = options.now ?? Date.now
  const snapshots = new Map<string, Snapshot>()
  /** Organizations kept fresh, and a refresh or load in flight for each. */
  const kept = new Set<string>()
  const inFlight = new Map<string, Promise<void>>()
  /** Organizations another instance was refreshing when this one tried. */
  const elsewhere = new Set<string>()

  const load = async (org: string) => {
    const stored = await options.store.read(org)
    const mine = snapshots.get(org)
    if (stored && (!mine || stored.as_of >= mine.as_of)) snapshots.set(org, stored)
  }
  options.store.onChange((org) => {
    if (kept.has(org)) void load(org).catch((err) => options.log.warn({ err, org }, 'reading the receivables snapshot failed'))
  })

  async function refresh(org: string): Promise<void> {
    const release = await options.store.lock(org)
    if (!release) {
      elsewhere.add(org)
      return
    }
    elsewhere.delete(org)
    try {
      // Another instance may have refreshed it a moment ago.
      await load(org).catch(() => {})
      if (!due(org)) return
      const startedAt = now()
      // One listing after the other: a background job need not hurry, and Zoho's concurrency is shared.
      const invoices = await options.source.listOpenInvoices(org)
      const orders = await options.source.listOpenSalesOrders(org)
      const snapshot = { as_of: startedAt, customers: groupByCustomer(invoices, orders) }
      snapshots.set(org, snapshot)
      await options.store.replace(org, snapshot)
      options.onRefresh?.('ok', 'organization')
      options.log.info(
        { org, customers: snapshot.customers.size, invoices: invoices.length, orders: orders.length },
        'receivables refreshed',
      )
    } catch (err) {
      options.onRefresh?.('failed', 'organization')
      options.log.warn({ org, err: { message: (err as Error).message } }, 'receivables refresh failed; the last complete snapshot stays')
    } finally {
      await release()
    }
  }
  const due = (org: string) => {
    const snapshot = snapshots.get(org)
    return !snapshot || now() - snapshot.as_of >= options.refreshSeconds * 1000
  }
  /** One refresh (or first load) of an organization at a time in this process. */
  const once = (org: string, work: () => Promise<void>) => {
    let running = inFlight.get(org)
    if (!running) {
      running = work().finally(() => inFlight.delete(org))
      inFlight.set(org, running)
    }
    return running
  }
  const unavailable = (detail: string) => new Problem('upstream_unavailable', detail, { retryAfterSeconds: 30 })

  return {
    async forCustomer(org, customerId) {
      if (!kept.has(org)) {
        kept.add(org)
        await once(org, async () => {
          await load(org).catch(() => {})
          if (due(org)) await refresh(org)
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
    async refreshCustomer(org, customerId) {
      // Only an organization whose receivables are kept (here, or by another instance through the store).
      if (!snapshots.has(org)) await load(org).catch(() => {})
      if (!snapshots.has(org)) return
      const startedAt = now()
      try {
        const invoices = await options.source.listOpenInvoices(org, customerId)
        const orders = await options.source.listOpenSalesOrders(org, customerId)
        const customer: StoredCustomer = { ...(groupByCustomer(invoices, orders).get(customerId) ?? NO_RECEIVABLES), as_of: startedAt }
        const snapshot = snapshots.get(org)
        if (snapshot) snapshots.set(org, { ...snapshot, customers: new Map(snapshot.customers).set(customerId, customer) })
        await options.store.replaceCustomer(org, customerId, customer)
        options.onRefresh?.('ok', 'customer')
      } catch (err) {
        options.onRefresh?.('failed', 'customer')
        options.log.warn({ org, customerId, err: { message: (err as Error).message } }, 'refreshing a customer’s receivables failed')
      }
    },
    async refreshDue() {
      await Promise.all([...kept].filter(due).map((org) => once(org, () => refresh(org))))
    },
    ages() {
      const out: Record<string, number | null> = {}
      for (const org of kept) {
        const snapshot = snapshots.get(org)
        out[org] = snapshot ? Math.floor((now() - snapshot.as_of) / 1000) : null
      }
      return out
    },
  }
}
