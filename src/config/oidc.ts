import { z } from 'zod'
import { ROLES, type Role } from '../domain/actor.js'
import { ConfigError, optional } from './parse.js'

/** `provider-role:role,…`: which of the provider's roles (or groups) grant which of ours. */
export const roleMap = optional(
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

/** The OIDC variables, parsed (env.ts). */
export interface OidcEnv {
  readonly OIDC_ISSUER?: string | undefined
  readonly OIDC_AUDIENCE?: string | undefined
  readonly OIDC_ROLES_CLAIM: string
  readonly OIDC_ROLE_MAP?: z.output<typeof roleMap>
  readonly OIDC_CLIENT_ID?: string | undefined
  readonly OIDC_CLIENT_SECRET?: string | undefined
}

/** The provider's settings: an issuer always with its audience; the other OIDC_* only with an issuer. */
export function oidcConfig(e: OidcEnv, production: boolean): OidcConfig | undefined {
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
