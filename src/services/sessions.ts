import { hash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Actor } from '../domain/actor.js'

/** A console session: who signed in, until when, and the token its state-changing calls must carry. */
export interface Session {
  actor: Actor
  csrf: string
  expiresAt: number
}

/** A sign-in under way: what the callback must find again (PKCE verifier, where to go after). */
export interface PendingLogin {
  verifier: string
  returnTo: string
}

/**
 * Where sessions live: Redis (every instance sees them, sign-out ends them everywhere) or this
 * process. Values are JSON; keys are digests of the browser's secret, never the secret itself.
 */
export interface SessionStore {
  get(key: string): Promise<string | undefined>
  set(key: string, value: string, ttlSeconds: number): Promise<void>
  delete(key: string): Promise<void>
}

/** Longest session: a sign-in lasts a working day at most, and never beyond its access token. */
export const SESSION_MAX_SECONDS = 8 * 3600
/** A sign-in must come back from the provider within this. */
export const LOGIN_TTL_SECONDS = 600

export const newSecret = (): string => randomBytes(32).toString('base64url')
const keyOf = (kind: string, secret: string) => `${kind}:${hash('sha256', secret, 'base64url')}`

/** A browser's secret of the expected form (43 base64url characters), so nothing else reaches the store. */
const SECRET = /^[A-Za-z0-9_-]{43}$/

/**
 * Console sessions kept on the server, the browser holding only a secret: ../../docs/decisions/011-oidc.md
 * Sign-ins under way go to a store of their own (`logins`): anyone may start one, and in a bounded
 * store shared with sessions a flood of them would push the people signed in out.
 */
export function createSessions(store: SessionStore, logins: SessionStore = store, now: () => number = Date.now) {
  const read = async <T>(from: SessionStore, kind: string, secret: string | undefined): Promise<T | undefined> => {
    if (!secret || !SECRET.test(secret)) return undefined
    const json = await from.get(keyOf(kind, secret))
    return json === undefined ? undefined : (JSON.parse(json) as T)
  }
  return {
    /** Opens a session for `actor` until `expiresAt` (capped at SESSION_MAX_SECONDS): the cookie's secret and the CSRF token. */
    async open(actor: Actor, expiresAt: number): Promise<{ id: string; session: Session }> {
      const id = newSecret()
      const session = { actor, csrf: newSecret(), expiresAt: Math.min(expiresAt, now() + SESSION_MAX_SECONDS * 1000) }
      await store.set(keyOf('session', id), JSON.stringify(session), Math.max(1, Math.ceil((session.expiresAt - now()) / 1000)))
      return { id, session }
    },
    async find(id: string | undefined): Promise<Session | undefined> {
      const session = await read<Session>(store, 'session', id)
      return session && session.expiresAt > now() ? session : undefined
    },
    async close(id: string | undefined): Promise<void> {
      if (id && SECRET.test(id)) await store.delete(keyOf('session', id))
    },
    /** Remembers a sign-in under way by its `state`. */
    async begin(state: string, login: PendingLogin): Promise<void> {
      await logins.set(keyOf('login', state), JSON.stringify(login), LOGIN_TTL_SECONDS)
    },
    /** The sign-in under way for `state`, once: a replayed callback finds nothing. */
    async finish(state: string | undefined): Promise<PendingLogin | undefined> {
      const login = await read<PendingLogin>(logins, 'login', state)
      if (login && state) await logins.delete(keyOf('login', state))
      return login
    },
  }
}

export type Sessions = ReturnType<typeof createSessions>

/** The CSRF header matches the session's token (constant time). */
export function csrfMatches(session: Session, header: unknown): boolean {
  if (typeof header !== 'string' || header.length !== session.csrf.length) return false
  return timingSafeEqual(Buffer.from(header), Buffer.from(session.csrf))
}
