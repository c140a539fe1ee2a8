import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Histogram } from 'prom-client'
import { createLocalBudget } from '../adapters/local/budget.js'
import { createLocalTokens } from '../adapters/local/tokens.js'
import { createRedisBudget } from '../adapters/redis/budget.js'
import { createSharedTokens } from '../adapters/redis/tokens.js'
import { createZohoBooks } from '../adapters/zoho/books.js'
import type { BudgetPart } from '../adapters/zoho/ports.js'
import { createTokenMinter } from '../adapters/zoho/tokens.js'
import type { Config } from '../config.js'
import { Problem } from '../errors.js'
import { type OrganizationSettings, organizationSettings } from '../organizations.js'
import { createBaseCurrencies } from '../services/base-currency.js'
import type { ContactSource } from '../services/contacts.js'
import type { GroupSource } from '../services/group-exposure.js'
import type { PaymentsSource } from '../services/payments.js'
import type { ReceivablesSource } from '../services/receivables-ports.js'

/**
 * Zoho Books: the client, its access token and its per-organization budget (shared through Redis
 * when there is one), and the organizations callers may ask about.
 */
export interface Zoho {
  readonly contacts: ContactSource
  /** The organization-wide listings of open invoices and sales orders. */
  readonly receivables: ReceivablesSource
  /** The organization-wide listing of paid invoices. */
  readonly payments: PaymentsSource
  /** The organization-wide listing of contacts (group exposure). */
  readonly groups: GroupSource
  /** The organization a request is about: the one asked for if allowed (403 otherwise), else the default. */
  organization(requested: string | undefined): string
  readonly organizations: readonly string[]
  /** The organization's settings: its ORGANIZATIONS_FILE entry's, else the environment's. */
  settings(org: string): OrganizationSettings
  /** The organization's base currency, read from Zoho for organizations in ORGANIZATIONS_FILE (null until then, and for others). */
  baseCurrency(org: string): string | null
  /** Each organization's budget use: calls in the last minute against the limits. */
  usage(): BudgetUsage[]
  /** This instance's part of an organization's minute as its in-process budget counts it (the caller share's own count). */
  part(org: string): BudgetPart
}

export interface BudgetUsage {
  organization_id: string
  calls_last_minute: number
  requests_per_minute: number
  max_concurrency: number
}

declare module 'fastify' {
  interface FastifyInstance {
    zoho: Zoho
  }
}

const zohoPlugin: FastifyPluginAsync<{ config: Config; contactSource?: ContactSource | undefined }> = async (app, options) => {
  const { zoho } = options.config
  if (!zoho.credentials) throw new Error('no Zoho credentials: server.ts starts the bundled sandbox for ZOHO_MODE=sandbox')
  const registers = [app.metrics.registry]
  const calls = new Counter({
    name: 'creditgate_zoho_calls_total',
    help: 'HTTP calls to Zoho Books by outcome',
    labelNames: ['outcome'],
    registers,
  })
  const duration = new Histogram({
    name: 'creditgate_zoho_call_duration_seconds',
    help: 'Zoho Books call latency by outcome',
    labelNames: ['outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers,
  })
  const refusals = new Counter({
    name: 'creditgate_zoho_budget_rejections_total',
    help: 'Zoho calls not made because the per-organization budget was spent, Zoho asked us to pause, or too many were in flight',
    labelNames: ['reason'],
    registers,
  })

  // Every label value from the start, at 0: a first 429 or refusal is then an increase alerts can see.
  for (const outcome of ['ok', 'not_found', 'error', 'rejected_token', 'rate_limited', 'retry']) calls.inc({ outcome }, 0)
  for (const reason of ['spent', 'paused', 'busy']) refusals.inc({ reason }, 0)
  const settings = organizationSettings(options.config)
  const limits = {
    requestsPerMinute: zoho.requestsPerMinute,
    maxConcurrency: zoho.maxConcurrency,
    waitMs: zoho.timeoutMs,
    reserve: zoho.reserve,
    // Each organization is its own Zoho budget: its ORGANIZATIONS_FILE entry's, else the environment's.
    of: (org: string) => settings(org).zoho,
  }
  const budget = app.shared.store({
    local: () => createLocalBudget(limits),
    redis: (link) => createRedisBudget(link, limits, zoho.organizationIds),
  })
  const mint = createTokenMinter({ accountsUrl: zoho.accountsUrl, credentials: zoho.credentials, timeoutMs: zoho.timeoutMs })
  const credentials = zoho.credentials
  const tokens = app.shared.store({
    local: () => createLocalTokens(mint),
    redis: (link) =>
      createSharedTokens({
        link,
        mint,
        local: createLocalTokens(mint),
        credentialId: `${zoho.accountsUrl} ${credentials.clientId} ${credentials.refreshToken}`,
        log: app.log.child({ component: 'zoho-token' }),
      }),
  })
  const books = createZohoBooks({
    apiBaseUrl: zoho.apiBaseUrl,
    timeoutMs: zoho.timeoutMs,
    tokens,
    budget,
    log: app.log.child({ component: 'zoho' }),
    onCall: (outcome, seconds) => {
      calls.inc({ outcome })
      duration.observe({ outcome }, seconds)
    },
    onBudgetRefusal: (reason) => refusals.inc({ reason }),
  })
  const contacts = options.contactSource ?? books

  // Base currencies of the organizations with an ORGANIZATIONS_FILE entry: one background call each at start, then daily.
  const currencies = createBaseCurrencies({
    source: books,
    organizations: options.config.organizations.map((o) => o.organization_id),
    log: app.log.child({ component: 'base-currency' }),
  })
  void currencies.refresh()
  app.addHook('onClose', async () => currencies.close())
  const allowed = new Set(zoho.organizationIds)
  app.decorate('zoho', {
    contacts,
    receivables: books,
    payments: books,
    groups: books,
    organizations: zoho.organizationIds,
    settings,
    baseCurrency: currencies.of,
    organization(requested) {
      const org = requested ?? zoho.organizationId
      if (!allowed.has(org)) throw new Problem('forbidden', `organization ${org} is not one this service may ask about`)
      return org
    },
    usage: () =>
      zoho.organizationIds.map((org) => ({
        organization_id: org,
        calls_last_minute: budget.callsLastMinute(org),
        requests_per_minute: settings(org).zoho.requestsPerMinute,
        max_concurrency: settings(org).zoho.maxConcurrency,
      })),
    part: (org) => budget.part(org),
  })
  app.lifecycle.addCheck('zoho', () => ({
    ok: true,
    detail: zoho.mode === 'sandbox' ? `bundled sandbox at ${zoho.accountsUrl}` : `data centre ${zoho.dc}`,
  }))
}

export default fp(zohoPlugin, { name: 'zoho', dependencies: ['metrics', 'lifecycle', 'redis'] })
