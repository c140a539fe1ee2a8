import { z } from 'zod'
import { isTimeZone, TIME_ZONE_MESSAGE, webhookSecret } from '../organizations.js'
import { roleMap } from './oidc.js'
import { amount, callbackUrl, customFieldName, httpUrl, integer, keyList, namedList, optional, trustProxy, withDefault } from './parse.js'
import { redisNodeList } from './redis.js'
import { DATA_CENTRES, type DataCentre, ZOHO_ID } from './zoho.js'

/** Every variable creditgate reads, with its parser and default; config.ts checks what spans several. */
export const EnvSchema = z.object({
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
