/**
 * Who did something: a person signed in through the identity provider, or an API key by its name.
 * Recorded on every release, rejection, purge and backtest (the audit trail names it).
 */
export type Role = 'caller' | 'viewer' | 'approver' | 'admin'

export interface Actor {
  /** The provider's subject for a person; the key's name for an API key. */
  sub: string
  /** A person's name or e-mail; the key's name for an API key. */
  name: string
  roles: Role[]
  via: 'key' | 'oidc'
}

/** An API key as an actor: admin keys hold the admin role, caller keys the caller role. */
export const keyActor = (name: string, admin: boolean): Actor => ({ sub: name, name, roles: [admin ? 'admin' : 'caller'], via: 'key' })
