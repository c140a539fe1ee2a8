import { isIP } from 'node:net'
import { z } from 'zod'
import { ROLES, type Role } from './domain/actor.js'
import type { Group } from './domain/group.js'
import type { CreditFields } from './domain/payments.js'
import { deepFreeze } from './lib/deep-freeze.js'
import { isTimeZone, type OrganizationEntry, readOrganizationsFile, reserveOf, TIME_ZONE_MESSAGE, webhookSecret } from './organizations.js'

/** Zoho data centres: accounts server and Books API base (docs/zoho.md, OAuth). */
export const DATA_CENTRES = {
  com: { accounts: 'https://accounts.zoho.com', api: 'https://www.zohoapis.com/books/v3' },
  eu: { accounts: 'https://accounts.zoho.eu', api: 'https://www.zohoapis.eu/books/v3' },
  in: { accounts: 'https://accounts.zoho.in', api: 'https://www.zohoapis.in/books/v3' },
  'com.au': { accounts: 'https://accounts.zoho.com.au', api: 'https://www.zohoapis.com.au/books/v3' },
  jp: { accounts: 'https://accounts.zoho.jp', api: 'https://www.zohoapis.jp/books/v3' },
  ca: { accounts: 'https://accounts.zohocloud.ca', api: 'https://www.zohoapis.ca/books/v3' },
  'com.cn': { accounts: 'https://accounts.zoho.com.cn', api: 'https://www.zohoapis.com.cn/books/v3' },
  sa: { accounts: 'https://accounts.zoho.sa', api: 'https://www.zohoapis.sa/books/v3' },
} as const

export type DataCentre = keyof typeof DATA_CENTRES

const ZOHO_ID = /^\d{1,19}$/

export interface ApiKey {
  readonly name: string
  readonly key: string
}

const blankIsUnset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value)
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankIsUnset, schema.optional())
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) => z.preprocess(blankIsUnset, schema.default(fallback as never))
const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max)
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((url) => url.replace(/\/+$/, ''))

const keyList = optional(
  z.string().transform((text, ctx) => {
    const keys: ApiKey[] = []
    for (const item of text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const at = item.indexOf(':')
      const name = at > 0 ? item.slice(0, at) : ''
      const key = at > 0 ? item.slice(at + 1) : ''
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || key.length < 16) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${keys.length + 1} must be name:key with a name of letters, digits, _ . - and a key of at least 16 characters`,
        })
        return z.NEVER
      }
      if (keys.some((k) => k.name === name)) {
        ctx.addIssue({ code: 'custom', message: `the name "${name}" is used twice` })
        return z.NEVER
      }
      keys.push({ name, key })
    }
    // "API_KEYS=," is a mistake, not a wish for an open API.
    if (keys.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'is set but lists no key (name:key,…); unset it to run without keys' })
      return z.NEVER
    }
    return keys
  }),
)

/** `name:value,…` (names as API key names), each value checked by `parse` (undefined: wrong, described by `want`). */
const namedList = <T>(want: string, parse: (value: string) => T | undefined) =>
  optional(
    z.string().transform((text, ctx) => {
      const out: { name: string; value: T }[] = []
      for (const item of text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const at = item.indexOf(':')
        const name = item.slice(0, Math.max(0, at))
        const value = at > 0 ? parse(item.slice(at + 1).trim()) : undefined
        if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name) || value === undefined || out.some((e) => e.name === name) || out.length >= 100) {
          ctx.addIssue({ code: 'custom', message: `entry ${out.length + 1} must be name:${want} (names once each, at most 100 entries)` })
          return z.NEVER
        }
        out.push({ name, value })
      }
      return out
    }),
  )

const callbackUrl = (text: string) => (httpUrl.safeParse(text).success ? text : undefined)
const amount = (text: string) => (/^\d+(\.\d+)?$/.test(text) ? Number(text) : undefined)

/** One Redis server to start from: a Sentinel or a Cluster node. */
export interface RedisNode {
  readonly host: string
  readonly port: number
}

/**
 * Where creditgate finds Redis: one server (REDIS_URL), a master through Sentinel, or a Cluster.
 * Credentials and TLS come from the URL form (`redis[s]://[user:password@]host:port`), which the
 * Sentinel and Cluster lists accept for their entries too.
 */
export type RedisTarget =
  | { readonly mode: 'url'; readonly url: string }
  | ({ readonly mode: 'sentinel'; readonly sentinels: readonly RedisNode[]; readonly name: string } & RedisAuth)
  | ({ readonly mode: 'cluster'; readonly nodes: readonly RedisNode[] } & RedisAuth)

export interface RedisAuth {
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: boolean
}

const MAX_REDIS_NODES = 64

/** `host:port,…` where each entry may also be written `redis[s]://[user:password@]host:port`; every entry shares one scheme and credentials. */
const redisNodeList = optional(
  z.string().transform((text, ctx) => {
    const entries = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    if (entries.length === 0 || entries.length > MAX_REDIS_NODES) {
      ctx.addIssue({ code: 'custom', message: `must list 1 to ${MAX_REDIS_NODES} host:port entries` })
      return z.NEVER
    }
    const nodes: RedisNode[] = []
    const auths = new Set<string>()
    let auth: RedisAuth = { username: undefined, password: undefined, tls: false }
    for (const [i, entry] of entries.entries()) {
      let url: URL | undefined
      try {
        url = new URL(/^[a-z]+:\/\//i.test(entry) ? entry : `redis://${entry}`)
      } catch {
        url = undefined
      }
      const port = Number(url?.port)
      if (
        !url ||
        !/^rediss?:$/.test(url.protocol) ||
        !url.hostname ||
        !url.port ||
        !(port >= 1 && port <= 65535) ||
        url.pathname.length > 1 ||
        url.search
      ) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} must be host:port or redis[s]://[user:password@]host:port` })
        return z.NEVER
      }
      nodes.push({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port })
      auth = {
        username: url.username ? decodeURIComponent(url.username) : undefined,
        password: url.password ? decodeURIComponent(url.password) : undefined,
        tls: url.protocol === 'rediss:',
      }
      auths.add(JSON.stringify(auth))
    }
    if (auths.size > 1) {
      ctx.addIssue({ code: 'custom', message: 'entries must all use the same scheme and credentials' })
      return z.NEVER
    }
    return { nodes, auth }
  }),
)

/** `provider-role:role,…`: which of the provider's roles (or groups) grant which of ours. */
const roleMap = optional(
  z.string().transform((text, ctx) => {
    const map = new Map<string, Role>()
    const entries = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    for (const [i, entry] of entries.entries()) {
      // The last colon: a provider's role may itself hold one (Zoho's, some namespaced groups).
      const at = entry.lastIndexOf(':')
      const from = entry.slice(0, Math.max(at, 0)).trim()
      const to = entry.slice(at + 1).trim() as Role
      if (at <= 0 || from.length > 200 || !ROLES.includes(to) || entries.length > 200) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} must be provider-role:${ROLES.join('|')} (at most 200 entries)` })
        return z.NEVER
      }
      map.set(from, to)
    }
    if (map.size === 0) {
      ctx.addIssue({ code: 'custom', message: 'is set but maps no role (provider-role:role,…)' })
      return z.NEVER
    }
    return map
  }),
)

/** proxy-addr's names for address ranges, which fastify's trustProxy accepts beside addresses and CIDRs. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** An address or a CIDR range (`10.0.0.0/8`, `fd00::/8`). */
function addressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/')
  const version = isIP(address ?? '')
  if (version === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128)
}

/**
 * Which peers may say who the client is (X-Forwarded-For): none (`false`, the default), or a comma
 * list of the proxies' addresses, CIDR ranges and proxy-addr's names. Neither `true` (every peer)
 * nor a hop count: with either, a client that reaches the service directly chooses its own address
 * (fastify 5 trusts nothing for a hop count, for that reason).
 */
const trustProxy = z.string().transform((text, ctx): TrustProxy => {
  const value = text.trim()
  if (value === 'false') return false
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const wrong = entries.find((entry) => !PROXY_RANGES.has(entry) && !addressOrRange(entry))
  if (entries.length === 0 || wrong !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `must be false or a comma list of the proxies' addresses, CIDR ranges, loopback, linklocal or uniquelocal${wrong === undefined ? '' : ` (not "${wrong}")`}`,
    })
    return z.NEVER
  }
  return entries
})

/** Fastify's trustProxy: off, or the proxies' addresses and ranges. */
export type TrustProxy = false | readonly string[]

/** A Zoho custom field's api_name. */
const customFieldName = z.string().regex(/^cf_[A-Za-z0-9_]{1,100}$/, 'must be a custom field api_name such as cf_credit_review_date')

const EnvSchema = z.object({
  NODE_ENV: optional(z.string()),
  PORT: withDefault(integer(0, 65535), 3000),
  HOST: withDefault(z.string(), '127.0.0.1'),
  LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  REDIS_URL: optional(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })),
  REDIS_SENTINELS: redisNodeList,
  REDIS_SENTINEL_NAME: optional(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be the master name: letters, digits, _ . - (at most 64)')),
  REDIS_CLUSTER_NODES: redisNodeList,
  ZOHO_DC: withDefault(z.enum(Object.keys(DATA_CENTRES) as [DataCentre, ...DataCentre[]]), 'com'),
  ZOHO_ACCOUNTS_URL: optional(httpUrl),
  ZOHO_API_BASE_URL: optional(httpUrl),
  ZOHO_CLIENT_ID: optional(z.string()),
  ZOHO_CLIENT_SECRET: optional(z.string()),
  ZOHO_REFRESH_TOKEN: optional(z.string()),
  ZOHO_ORGANIZATION_ID: optional(z.string().regex(ZOHO_ID, 'must be 1 to 19 digits')),
  ZOHO_ORGANIZATION_IDS: optional(
    z
      .string()
      .transform((text) =>
        text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(ZOHO_ID, 'must be a comma list of 1 to 19 digit ids')).min(1)),
  ),
  ZOHO_TIMEOUT_MS: withDefault(integer(100, 120_000), 5000),
  ZOHO_REQUESTS_PER_MINUTE: withDefault(integer(1, 100), 90),
  ZOHO_MAX_CONCURRENCY: withDefault(integer(1, 10), 8),
  ZOHO_CALLER_RESERVE: optional(integer(0, 99)),
  CONTACT_CACHE_TTL_SECONDS: withDefault(integer(0, 86_400), 300),
  CONTACT_STALE_TTL_SECONDS: withDefault(integer(0, 30 * 86_400), 86_400),
  RULES_DIR: withDefault(z.string(), './rules'),
  RULES_SHADOW_DIR: optional(z.string()),
  DECISION_HISTORY_MAX: withDefault(integer(100, 10_000_000), 100_000),
  RULES_VERIFY_SAMPLE: withDefault(z.coerce.number().min(0).max(1), 0.01),
  API_KEYS: keyList,
  ADMIN_API_KEYS: keyList,
  WEBHOOK_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  FAIL_MODE: withDefault(z.enum(['closed', 'review']), 'closed'),
  ZOHO_MODE: optional(z.enum(['zoho', 'sandbox'])),
  RATE_LIMIT_PER_MINUTE: withDefault(integer(0, 1_000_000), 3000),
  SHUTDOWN_DELAY_MS: withDefault(integer(0, 120_000), 0),
  ORG_TIME_ZONE: withDefault(z.string().refine(isTimeZone, TIME_ZONE_MESSAGE), 'UTC'),
  ORGANIZATIONS_FILE: optional(z.string().min(1)),
  RECEIVABLES_REFRESH_SECONDS: withDefault(integer(60, 86_400), 600),
  RECEIVABLES_STALE_SECONDS: withDefault(integer(60, 30 * 86_400), 86_400),
  RESERVATION_TTL_SECONDS: withDefault(integer(60, 30 * 86_400), 86_400),
  PAYMENT_FACTS_REFRESH_SECONDS: withDefault(integer(3600, 30 * 86_400), 86_400),
  PAYMENT_FACTS_STALE_SECONDS: withDefault(integer(3600, 90 * 86_400), 3 * 86_400),
  CREDIT_REVIEW_DATE_FIELD: withDefault(customFieldName, 'cf_credit_review_date'),
  CREDIT_LIMIT_UNTIL_FIELD: withDefault(customFieldName, 'cf_credit_limit_until'),
  TRUST_PROXY: optional(trustProxy),
  CASE_EXPIRE_DAYS: withDefault(integer(1, 365), 14),
  RELEASE_VALID_DAYS: withDefault(integer(1, 365), 7),
  RELEASE_TOLERANCE: withDefault(z.coerce.number().min(0).max(1), 0.1),
  RELEASE_LIMITS: namedList('amount (a number ≥ 0)', amount),
  CALLBACK_URLS: namedList('url (http or https)', callbackUrl),
  CALLBACK_SECRETS: namedList('whsec_ and a base64 secret of 24 to 64 bytes', webhookSecret),
  OIDC_ISSUER: optional(z.url({ protocol: /^https?$/, error: "must be the provider's issuer URL (http(s)://…)" })),
  OIDC_AUDIENCE: optional(z.string().max(500)),
  OIDC_ROLES_CLAIM: withDefault(
    z.string().regex(/^[^\s]{1,200}$/, 'must be a claim name or a dotted path such as realm_access.roles'),
    'roles',
  ),
  OIDC_ROLE_MAP: roleMap,
  OIDC_CLIENT_ID: optional(z.string().max(500)),
  OIDC_CLIENT_SECRET: optional(z.string().max(2000)),
})

export type Env = Record<string, string | undefined>

export interface ZohoCredentials {
  readonly clientId: string
  readonly clientSecret: string
  readonly refreshToken: string
}

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

interface ZohoSettings {
  /** zoho: a real organization; sandbox: the bundled Zoho Books sandbox (demos, development). */
  readonly mode: 'zoho' | 'sandbox'
  readonly dc: DataCentre
  readonly accountsUrl: string
  readonly apiBaseUrl: string
  readonly timeoutMs: number
  readonly requestsPerMinute: number
  readonly maxConcurrency: number
  /**
   * Calls of each organization's minute kept for decisions (ZOHO_CALLER_RESERVE): background
   * refreshes never take them, nor, with two or more caller keys, a caller over its fair part.
   */
  readonly reserve: number
  /** ZOHO_CALLER_RESERVE as set (undefined: each organization keeps ⌈B / 4⌉ of its own B). */
  readonly callerReserve: number | undefined
}

/**
 * How creditgate reaches Zoho. Without credentials (sandbox mode) there is nothing to reach yet:
 * server.ts starts the bundled sandbox and configures creditgate against it, as an operator would.
 */
export type ZohoConfig = ZohoSettings &
  (
    | { readonly credentials: ZohoCredentials; readonly organizationId: string; readonly organizationIds: readonly string[] }
    | {
        readonly credentials: undefined
        readonly organizationId: string | undefined
        readonly organizationIds: readonly string[] | undefined
      }
  )

/** Bearer JWTs from an OpenID provider (OIDC_*), beside API keys; the console's sign-in with a client id. */
export interface OidcConfig {
  readonly issuer: string
  readonly audience: string
  /** A claim name, or a dotted path into nested claims (Keycloak: realm_access.roles). */
  readonly rolesClaim: string
  /** Provider role → ours; empty: the provider's roles are named as ours. */
  readonly roleMap: ReadonlyMap<string, Role>
  readonly clientId: string | undefined
  readonly clientSecret: string | undefined
}

export class ConfigError extends Error {
  override name = 'ConfigError'
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

/** The provider's settings: an issuer always with its audience; the other OIDC_* only with an issuer. */
function oidcConfig(e: z.infer<typeof EnvSchema>, production: boolean): OidcConfig | undefined {
  if (!e.OIDC_ISSUER) {
    const stray = (['OIDC_AUDIENCE', 'OIDC_ROLE_MAP', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const).find(
      (name) => e[name] !== undefined,
    )
    if (stray) throw new ConfigError(`invalid configuration: ${stray} is set but OIDC_ISSUER is not`)
    return undefined
  }
  if (!e.OIDC_AUDIENCE) {
    throw new ConfigError('invalid configuration: OIDC_AUDIENCE is required with OIDC_ISSUER (the audience tokens must be issued for)')
  }
  if (production && !e.OIDC_ISSUER.startsWith('https:')) {
    throw new ConfigError('invalid configuration: OIDC_ISSUER must be an https URL when NODE_ENV=production')
  }
  if (e.OIDC_CLIENT_SECRET && !e.OIDC_CLIENT_ID) {
    throw new ConfigError('invalid configuration: OIDC_CLIENT_SECRET is set but OIDC_CLIENT_ID is not')
  }
  return {
    issuer: e.OIDC_ISSUER,
    audience: e.OIDC_AUDIENCE,
    rolesClaim: e.OIDC_ROLES_CLAIM,
    roleMap: e.OIDC_ROLE_MAP ?? new Map(),
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: e.OIDC_CLIENT_SECRET,
  }
}

/** At most one way to reach Redis, and a Sentinel list always with its master name. */
function redisTarget(e: z.infer<typeof EnvSchema>): RedisTarget | undefined {
  const set = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((name) => e[name] !== undefined)
  if (set.length > 1) {
    throw new ConfigError(
      `invalid configuration: set only one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (${set.join(' and ')} are set)`,
    )
  }
  if (e.REDIS_SENTINELS && !e.REDIS_SENTINEL_NAME) {
    throw new ConfigError(
      'invalid configuration: REDIS_SENTINEL_NAME is required with REDIS_SENTINELS (the master name the Sentinels monitor)',
    )
  }
  if (e.REDIS_SENTINEL_NAME && !e.REDIS_SENTINELS) {
    throw new ConfigError('invalid configuration: REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not')
  }
  if (e.REDIS_URL) return { mode: 'url', url: e.REDIS_URL }
  if (e.REDIS_SENTINELS && e.REDIS_SENTINEL_NAME) {
    return { mode: 'sentinel', sentinels: e.REDIS_SENTINELS.nodes, name: e.REDIS_SENTINEL_NAME, ...e.REDIS_SENTINELS.auth }
  }
  if (e.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: e.REDIS_CLUSTER_NODES.nodes, ...e.REDIS_CLUSTER_NODES.auth }
  return undefined
}
