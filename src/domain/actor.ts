import { z } from 'zod'

/**
 * Who did something: a person signed in through the identity provider, or an API key by its name.
 * Recorded on every release, rejection, purge and backtest (the audit trail names it).
 */
export const ROLES = ['caller', 'viewer', 'approver', 'admin'] as const
export type Role = (typeof ROLES)[number]

export interface Actor {
  /** The provider's subject for a person; the key's name for an API key. */
  sub: string
  /** A person's name or e-mail; the key's name for an API key. */
  name: string
  roles: Role[]
  via: 'key' | 'oidc'
}

/** An actor as the audit trail records it: on case steps, releases, purges and backtests. */
export const ActorSchema = z
  .object({
    sub: z.string().describe("The identity provider's subject for a person; the key's name for an API key"),
    name: z.string().describe("A person's name or e-mail; the key's name for an API key"),
    roles: z.array(z.enum(ROLES)),
    via: z.enum(['key', 'oidc']).describe('key: an API key; oidc: a bearer JWT or a console session'),
  })
  .meta({ id: 'Actor' })

/** An actor's fields alone (a request's actor may carry more). */
export const actorRecord = ({ sub, name, roles, via }: Actor): Actor => ({ sub, name, roles: [...roles], via })

/** An API key as an actor: admin keys hold the admin role, caller keys the caller role. */
export const keyActor = (name: string, admin: boolean): Actor => ({ sub: name, name, roles: [admin ? 'admin' : 'caller'], via: 'key' })

/** Staff: everyone but a plain caller (order systems) may read what any caller asked. */
export const isStaff = (actor: Actor | undefined): boolean => actor?.roles.some((role) => role !== 'caller') ?? false

/** A claim that is not what a token's claims must be: the token is refused (401), never half-read. */
export class ClaimError extends Error {
  override name = 'ClaimError'
}

/** Longest subject and name kept: the specification bounds `sub` at 255 ASCII characters. */
const MAX_SUB = 255
const MAX_NAME = 200

/**
 * The claim at `path`: the whole string as a claim name first (namespaced claims such as
 * `https://example.com/roles` hold dots), else a dotted path into nested objects
 * (Keycloak's `realm_access.roles`).
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path]
  let value: unknown = claims
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/**
 * A verified token's claims as an actor: its subject, a name to show (name, preferred_username,
 * email, else the subject) and our roles, mapped from the provider's by `roleMap` (empty: the
 * provider's roles are named as ours). A missing roles claim grants no role; one that is not a
 * list of strings is an error.
 */
export function actorFromClaims(claims: Record<string, unknown>, rolesClaim: string, roleMap: ReadonlyMap<string, Role>): Actor {
  const sub = claims.sub
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB)
    throw new ClaimError(`the sub claim must be a string of 1 to ${MAX_SUB} characters`)
  const given = claimAt(claims, rolesClaim) ?? []
  if (!Array.isArray(given) || given.length > 1000 || !given.every((role) => typeof role === 'string')) {
    throw new ClaimError(`the ${rolesClaim} claim must be a list of role names`)
  }
  const roles = new Set<Role>()
  for (const role of given as string[]) {
    const ours = roleMap.size > 0 ? roleMap.get(role) : ROLES.find((r) => r === role)
    if (ours) roles.add(ours)
  }
  const shown = [claims.name, claims.preferred_username, claims.email].find((v): v is string => typeof v === 'string' && v.trim() !== '')
  return { sub, name: (shown ?? sub).slice(0, MAX_NAME), roles: ROLES.filter((r) => roles.has(r)), via: 'oidc' }
}
