import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Documents } from './contacts.js'

// What a sandbox is to its users (tests, benchmarks, server.ts): its options, counters, faults and controls.

/** One injected answer to a contact call, used instead of the real one. */
export type ContactFault = { status: number; body?: unknown; headers?: Record<string, string> } | { hang: true } | { destroy: true }

/** One injected answer to a token call. */
export type TokenFault = { status?: number; body: unknown }

export interface SandboxOptions {
  organizations?: Map<string, Map<string, Record<string, unknown>>>
  /** Invoices and sales orders per organization (default: the sample documents, dated from today). */
  documents?: Map<string, Documents>
  credentials?: { clientId: string; clientSecret: string; refreshToken: string }
  tokenTtlSeconds?: number
  requestsPerMinute?: number
  maxConcurrency?: number
  mintsPerWindow?: number
  logger?: FastifyBaseLogger | boolean
}

export interface SandboxStats {
  tokenCalls: number
  contactCalls: number
  /** Get Organization calls (base currencies). */
  organizationCalls: number
  /** Contact calls per contact id. */
  byContact: Map<string, number>
  /** Answers by HTTP status. */
  byStatus: Map<number, number>
  maxInFlight: number
  /** Calls to List invoices and List sales orders (each page is one). */
  listCalls: number
  byList: Map<'invoices' | 'salesorders' | 'contacts', number>
  /** Each listing call's path and query, in order (e.g. "/invoices?filter_by=Status.Unpaid&page=1…"). */
  listRequests: string[]
}

export interface Sandbox {
  readonly app: FastifyInstance
  readonly stats: SandboxStats
  readonly faults: { contact: ContactFault[]; list: ContactFault[]; token: TokenFault[]; latencyMs: number; down: boolean }
  readonly organizations: Map<string, Map<string, Record<string, unknown>>>
  readonly documents: Map<string, Documents>
  /** Accounts URL and Books API base URL once listening. */
  readonly accountsUrl: string
  readonly apiBaseUrl: string
  /** The environment that points creditgate at this sandbox, as an operator would point it at Zoho. */
  readonly creditgateEnv: Readonly<Record<string, string>>
  listen(port?: number, host?: string): Promise<string>
  /** Forgets the calls of the current minute, as if a minute had passed (for Zoho's 100 a minute). */
  resetLimits(): void
  /** Holds every contact call from now on until the returned function is called (tests order events with it). */
  hold(): () => void
  /** Every access token issued so far stops working (as after a revocation). */
  revokeTokens(): void
  /** Every access token ever issued (tests look for them where they must not be). */
  readonly issuedTokens: readonly string[]
  resetStats(): void
  close(): Promise<void>
}
