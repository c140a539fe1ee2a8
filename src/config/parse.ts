import { isIP } from 'node:net'
import { z } from 'zod'

/** The parsers the environment's schema (env.ts) is made of, and the error naming a wrong variable. */

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface ApiKey {
  readonly name: string
  readonly key: string
}

export const blankIsUnset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value)
export const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankIsUnset, schema.optional())
export const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess(blankIsUnset, schema.default(fallback as never))
export const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max)
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((url) => url.replace(/\/+$/, ''))

export const keyList = optional(
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
export const namedList = <T>(want: string, parse: (value: string) => T | undefined) =>
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

export const callbackUrl = (text: string) => (httpUrl.safeParse(text).success ? text : undefined)
export const amount = (text: string) => (/^\d+(\.\d+)?$/.test(text) ? Number(text) : undefined)

/** proxy-addr's names for address ranges, which fastify's trustProxy accepts beside addresses and CIDRs. */
export const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** An address or a CIDR range (`10.0.0.0/8`, `fd00::/8`). */
export function addressOrRange(entry: string): boolean {
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
export const trustProxy = z.string().transform((text, ctx): TrustProxy => {
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
export const customFieldName = z.string().regex(/^cf_[A-Za-z0-9_]{1,100}$/, 'must be a custom field api_name such as cf_credit_review_date')
