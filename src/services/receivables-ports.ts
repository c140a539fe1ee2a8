import type { FastifyBaseLogger } from 'fastify'
import type { CustomerReceivables, ListedInvoice, ListedSalesOrder } from '../domain/receivables.js'

// The receivables service's ports (what the Zoho client and the stores implement) and what it offers (receivables.ts).

/** Where the organization's open invoices and sales orders come from (Zoho Books' listings). */
export interface ReceivablesSource {
  listOpenInvoices(org: string, listing?: ListingOptions): Promise<ListedInvoice[]>
  listOpenSalesOrders(org: string, listing?: ListingOptions): Promise<ListedSalesOrder[]>
}

export interface ListingOptions {
  /** One customer's documents only. */
  readonly customerId?: string | undefined
  /** Background work: its calls never take the part of the budget kept for decisions. */
  readonly background?: boolean | undefined
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
  /**
   * Claims the next read of one customer for `ms` across instances: undefined when this call
   * claimed it; else the current claim, named by an id that is new with every claim.
   */
  claimCustomer(org: string, customerId: string, ms: number): Promise<{ holder: string; endsInMs: number } | undefined>
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
  /**
   * A Zoho webhook says the customer's documents changed: its receivables are re-read in the
   * background, in the organizations of `orgs` that own it. Resolves once that is decided (before
   * any Zoho call). Call it only when the rules read receivables facts, and before the contact is
   * purged from the cache (the cache is one way to know the owner).
   */
  customerChanged(orgs: readonly string[], customerId: string): Promise<void>
  /** Refreshes the organizations whose snapshot is due; the plugin calls it on a timer. */
  refreshDue(): Promise<void>
  /** The age of each kept organization's snapshot in seconds (null while there is none). */
  ages(): Record<string, number | null>
  /** Stops the background reads (the app is closing). */
  stop(): void
}

/** The service with a read of whole snapshots, for the portfolio view (decisions need only forCustomer). */
export interface ReceivablesReader extends ReceivablesService {
  /**
   * The organization's snapshot as kept (this process's copy while it keeps the organization, else
   * the store's): never a Zoho call, never a first read; undefined while none has been read.
   */
  snapshot(org: string): Promise<Snapshot | undefined>
}

export interface ReceivablesOptions {
  source: ReceivablesSource
  store: ReceivablesStore
  refreshSeconds: number
  staleSeconds: number
  log: FastifyBaseLogger
  /** How long a decision waits for a first snapshot being read. */
  firstWaitMs: number
  /** Whether the contact cache holds the contact in the organization (a sign that the organization owns it). */
  contactKnown?: (org: string, contactId: string) => Promise<boolean>
  /** How long a webhook's read waits for more webhooks to read with it (default WEBHOOK_GATHER_MS). */
  gatherMs?: number
  /** How often one customer is read for webhooks at most, across instances (default CUSTOMER_SPACING_MS). */
  customerSpacingMs?: number
  onRefresh?: (result: 'ok' | 'failed', kind: 'organization' | 'customer') => void
  now?: () => number
}

/** Listing calls for one customer: unpaid invoices, open and partially invoiced sales orders. */
export const CUSTOMER_READ_CALLS = 3
/** A customer is read again at most this often for webhooks, across instances; later webhooks wait for the next read. */
export const CUSTOMER_SPACING_MS = 30_000
/**
 * A webhook's read starts this long after it came, so that a burst (a bulk payment run, an invoice
 * import: one webhook per document) is read together, as a whole organization when that is cheaper.
 */
export const WEBHOOK_GATHER_MS = 1000
