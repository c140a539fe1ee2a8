import { EnvSchema } from './config/env.js'
import { type OidcConfig, oidcConfig } from './config/oidc.js'
import { type ApiKey, ConfigError, type TrustProxy } from './config/parse.js'
import { type RedisTarget, redisTarget } from './config/redis.js'
import { DATA_CENTRES, type ZohoConfig } from './config/zoho.js'
import type { Group } from './domain/group.js'
import type { CreditFields } from './domain/payments.js'
import { deepFreeze } from './lib/deep-freeze.js'
import { type OrganizationEntry, readOrganizationsFile, reserveOf } from './organizations.js'

// The sections live in config/ (the schema in env.ts, a file per section); importers read them all here.
export type { OidcConfig } from './config/oidc.js'
export type { ApiKey, TrustProxy } from './config/parse.js'
export { ConfigError } from './config/parse.js'
export type { RedisAuth, RedisNode, RedisTarget } from './config/redis.js'
export type { DataCentre, ZohoConfig, ZohoCredentials } from './config/zoho.js'
export { DATA_CENTRES } from './config/zoho.js'

export type Env = Record<string, string | undefined>

export interface Config {
  readonly port: number
  readonly host: string
  readonly logLevel: string
  readonly production: boolean
  /** Unset: no Redis, every store in-process. */
  readonly redis: RedisTarget | undefined
  readonly zoho: ZohoConfig
  readonly cache: { readonly ttlSeconds: number; readonly staleTtlSeconds: number }
  readonly rulesDir: string
  /** A second rule set evaluated beside the active one after every answer, never changing it. */
  readonly rulesShadowDir: string | undefined
  /** Decisions kept per organization (Redis stream, approximately; or the in-process ring). */
  readonly decisionHistoryMax: number
  /** Share of decisions also evaluated by json-rules-engine and compared with the compiled rules (0: none). */
  readonly rulesVerifySample: number
  readonly apiKeys: readonly ApiKey[]
  readonly adminApiKeys: readonly ApiKey[]
  readonly webhookSecret: string | undefined
  readonly failMode: 'closed' | 'review'
  /** Requests per minute per API key (per address without keys); 0: no limit. */
  readonly rateLimitPerMinute: number
  /** On SIGTERM, how long /readyz answers 503 before the listener closes (load balancers drain). */
  readonly shutdownDelayMs: number
  /** Which peers' X-Forwarded-For names the client (its address: throttles, logs, callers without keys). */
  readonly trustProxy: TrustProxy
  readonly receivables: {
    /** IANA zone in which due dates are calendar dates. */
    readonly timeZone: string
    readonly refreshSeconds: number
    readonly staleSeconds: number
  }
  readonly cases: {
    readonly expireDays: number
    readonly releaseValidDays: number
    readonly tolerance: number
    /** The largest order each key name, person or role may release (none listed: no limit). */
    readonly releaseLimits: readonly { readonly name: string; readonly value: number }[]
    /** Case events for the caller key `name`: POSTed to `url`, signed with `secret`. */
    readonly callbacks: readonly { readonly name: string; readonly url: string; readonly secret: string }[]
  }
  /** How long an allowed order's reservation lasts unless Zoho lists the order or the caller cancels it. */
  readonly reservationTtlSeconds: number
  /** ORGANIZATIONS_FILE: settings per organization (organizations.ts settingsOf); [] without the file. */
  readonly organizations: readonly OrganizationEntry[]
  /** ORGANIZATIONS_FILE's groups: organizations whose linked customers' exposure adds up; [] without. */
  readonly groups: readonly Group[]
  /** Payment facts: the paid-invoice pass, and the custom fields of review dates and temporary limits. */
  readonly payments: {
    readonly refreshSeconds: number
    readonly staleSeconds: number
    readonly fields: CreditFields
  }
  /** Unset: API keys only. */
  readonly oidc: OidcConfig | undefined
}
/** Parses the environment once. Throws ConfigError with one line naming the variable. */
export function loadConfig(env: Env = process.env): Config {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ConfigError(`invalid configuration: ${String(issue?.path[0] ?? 'environment')} ${issue?.message ?? ''}`.trim())
  }
  const e = parsed.data
  const credentialNames = ['ZOHO_CLIENT_ID', 'ZOHO_CLIENT_SECRET', 'ZOHO_REFRESH_TOKEN'] as const
  const present = credentialNames.filter((name) => e[name] !== undefined)
  if (present.length > 0 && present.length < credentialNames.length) {
    const missing = credentialNames.find((name) => e[name] === undefined)
    throw new ConfigError(`invalid configuration: ${missing} is required when ${present.join(' and ')} is set`)
  }
  const credentials =
    e.ZOHO_CLIENT_ID && e.ZOHO_CLIENT_SECRET && e.ZOHO_REFRESH_TOKEN
      ? { clientId: e.ZOHO_CLIENT_ID, clientSecret: e.ZOHO_CLIENT_SECRET, refreshToken: e.ZOHO_REFRESH_TOKEN }
      : undefined
  const production = e.NODE_ENV === 'production'
  const mode = e.ZOHO_MODE ?? (credentials ? 'zoho' : 'sandbox')
  if (mode === 'zoho' && !credentials) {
    throw new ConfigError('invalid configuration: ZOHO_MODE=zoho needs ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN')
  }
  if (production && mode === 'sandbox' && !e.ZOHO_MODE) {
    throw new ConfigError(
      'invalid configuration: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN are required when NODE_ENV=production (ZOHO_MODE=sandbox for a demo)',
    )
  }
  if (credentials && !e.ZOHO_ORGANIZATION_ID) {
    throw new ConfigError('invalid configuration: ZOHO_ORGANIZATION_ID is required with Zoho credentials')
  }
  const organizationId = e.ZOHO_ORGANIZATION_ID
  const organizationIds = e.ZOHO_ORGANIZATION_IDS ?? (organizationId ? [organizationId] : undefined)
  if (organizationId && organizationIds && !organizationIds.includes(organizationId)) {
    throw new ConfigError(`invalid configuration: ZOHO_ORGANIZATION_IDS must include ZOHO_ORGANIZATION_ID (${organizationId})`)
  }
  if (e.CONTACT_STALE_TTL_SECONDS < e.CONTACT_CACHE_TTL_SECONDS) {
    throw new ConfigError('invalid configuration: CONTACT_STALE_TTL_SECONDS must not be less than CONTACT_CACHE_TTL_SECONDS')
  }
  if (e.RECEIVABLES_STALE_SECONDS < e.RECEIVABLES_REFRESH_SECONDS) {
    throw new ConfigError('invalid configuration: RECEIVABLES_STALE_SECONDS must not be less than RECEIVABLES_REFRESH_SECONDS')
  }
  if (e.PAYMENT_FACTS_STALE_SECONDS < e.PAYMENT_FACTS_REFRESH_SECONDS) {
    throw new ConfigError('invalid configuration: PAYMENT_FACTS_STALE_SECONDS must not be less than PAYMENT_FACTS_REFRESH_SECONDS')
  }
  const reserve = reserveOf(e.ZOHO_REQUESTS_PER_MINUTE, e.ZOHO_CALLER_RESERVE)
  if (reserve >= e.ZOHO_REQUESTS_PER_MINUTE) {
    // Nothing would be left for background refreshes, and the receivables would only age.
    throw new ConfigError(
      `invalid configuration: ZOHO_CALLER_RESERVE (${reserve}) must be less than ZOHO_REQUESTS_PER_MINUTE (${e.ZOHO_REQUESTS_PER_MINUTE})`,
    )
  }
  const redis = redisTarget(e)
  // A name is who asked: it owns decisions (GET /decisions/{id}) and a rate-limit bucket, so a
  // caller key named like an admin key would read the admin's decisions and share its bucket.
  const adminNames = new Set((e.ADMIN_API_KEYS ?? []).map((k) => k.name))
  const shared = (e.API_KEYS ?? []).find((k) => adminNames.has(k.name))
  if (shared) {
    throw new ConfigError(
      `invalid configuration: ADMIN_API_KEYS the name "${shared.name}" is also in API_KEYS; every key needs a name of its own`,
    )
  }
  const secrets = new Map((e.CALLBACK_SECRETS ?? []).map((s) => [s.name, s.value]))
  const unsigned = (e.CALLBACK_URLS ?? []).find((u) => !secrets.has(u.name))
  if (unsigned) throw new ConfigError(`invalid configuration: CALLBACK_SECRETS has no secret for "${unsigned.name}" (in CALLBACK_URLS)`)
  if (production && !e.API_KEYS) {
    throw new ConfigError('invalid configuration: API_KEYS is required when NODE_ENV=production')
  }
  const dc = DATA_CENTRES[e.ZOHO_DC]
  const oidc = oidcConfig(e, production)
  const file = e.ORGANIZATIONS_FILE
    ? readOrganizationsFile(e.ORGANIZATIONS_FILE, organizationIds, e.ZOHO_CALLER_RESERVE)
    : { organizations: [], groups: [] }
  if (typeof file === 'string') throw new ConfigError(`invalid configuration: ${file}`)
  return deepFreeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    production,
    redis,
    zoho: {
      mode,
      dc: e.ZOHO_DC,
      accountsUrl: e.ZOHO_ACCOUNTS_URL ?? dc.accounts,
      apiBaseUrl: e.ZOHO_API_BASE_URL ?? dc.api,
      ...(credentials
        ? { credentials, organizationId: organizationId as string, organizationIds: organizationIds as string[] }
        : { credentials, organizationId, organizationIds }),
      timeoutMs: e.ZOHO_TIMEOUT_MS,
      requestsPerMinute: e.ZOHO_REQUESTS_PER_MINUTE,
      maxConcurrency: e.ZOHO_MAX_CONCURRENCY,
      reserve,
      callerReserve: e.ZOHO_CALLER_RESERVE,
    },
    cache: { ttlSeconds: e.CONTACT_CACHE_TTL_SECONDS, staleTtlSeconds: e.CONTACT_STALE_TTL_SECONDS },
    rulesDir: e.RULES_DIR,
    rulesShadowDir: e.RULES_SHADOW_DIR,
    decisionHistoryMax: e.DECISION_HISTORY_MAX,
    rulesVerifySample: e.RULES_VERIFY_SAMPLE,
    apiKeys: e.API_KEYS ?? [],
    adminApiKeys: e.ADMIN_API_KEYS ?? [],
    webhookSecret: e.WEBHOOK_SECRET,
    failMode: e.FAIL_MODE,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    trustProxy: e.TRUST_PROXY ?? false,
    receivables: { timeZone: e.ORG_TIME_ZONE, refreshSeconds: e.RECEIVABLES_REFRESH_SECONDS, staleSeconds: e.RECEIVABLES_STALE_SECONDS },
    cases: {
      expireDays: e.CASE_EXPIRE_DAYS,
      releaseValidDays: e.RELEASE_VALID_DAYS,
      tolerance: e.RELEASE_TOLERANCE,
      releaseLimits: e.RELEASE_LIMITS ?? [],
      callbacks: (e.CALLBACK_URLS ?? []).map(({ name, value }) => ({ name, url: value, secret: secrets.get(name) as string })),
    },
    reservationTtlSeconds: e.RESERVATION_TTL_SECONDS,
    organizations: file.organizations,
    groups: file.groups,
    payments: {
      refreshSeconds: e.PAYMENT_FACTS_REFRESH_SECONDS,
      staleSeconds: e.PAYMENT_FACTS_STALE_SECONDS,
      fields: { reviewDate: e.CREDIT_REVIEW_DATE_FIELD, limitUntil: e.CREDIT_LIMIT_UNTIL_FIELD },
    },
    oidc,
  })
}
