import { createLocalJWKSet, errors, type JSONWebKeySet, type JWK, jwtVerify } from 'jose'
import { z } from 'zod'

/** Longest bearer token read: larger ones are refused before they are decoded. */
export const MAX_TOKEN_BYTES = 8192
/** A provider's JWKS is fetched again on an unknown `kid` at most this often (and in the background every REFRESH_MS). */
export const JWKS_COOLDOWN_MS = 30_000
export const JWKS_REFRESH_MS = 10 * 60_000
/** `exp` and `nbf` are allowed this much skew between the provider's clock and ours. */
export const CLOCK_TOLERANCE_SECONDS = 30
const FETCH_TIMEOUT_MS = 5000
const MAX_DOCUMENT_BYTES = 256 * 1024

/** The part of the provider's discovery document creditgate uses. */
const DiscoverySchema = z.looseObject({
  issuer: z.string(),
  jwks_uri: z.url(),
  authorization_endpoint: z.url().optional(),
  token_endpoint: z.url().optional(),
  end_session_endpoint: z.url().optional(),
})
export type Discovery = z.infer<typeof DiscoverySchema>

const JwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })).max(100) })

/** A token refused: its reason is safe to show the caller (it names no key and no secret). */
export class TokenError extends Error {
  override name = 'TokenError'
}

/** Signature algorithms a public key can verify, when the JWKS does not pin one with `alg`. */
export function algorithmsOf(key: JWK): string[] {
  if (key.use === 'enc') return []
  if (key.alg) return /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(key.alg) ? [key.alg] : []
  if (key.kty === 'RSA') return ['RS256']
  if (key.kty === 'EC') return { 'P-256': ['ES256'], 'P-384': ['ES384'], 'P-521': ['ES512'] }[key.crv ?? ''] ?? []
  if (key.kty === 'OKP' && key.crv === 'Ed25519') return ['EdDSA', 'Ed25519']
  return []
}

interface Keys {
  readonly get: ReturnType<typeof createLocalJWKSet>
  /** What the provider's keys can verify: never `none`, never an HS* (shared-secret) algorithm. */
  readonly algorithms: string[]
  readonly kids: number
}

export interface ProviderOptions {
  /** The provider's discovery document is fetched from `${issuer}/.well-known/openid-configuration`. */
  issuer: string
  audience: string
  /** Told of every fetch of the provider's documents (metrics) and of failures (the log). */
  onFetch?: (what: 'discovery' | 'jwks', outcome: 'ok' | 'error', err?: unknown) => void
  now?: () => number
}

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    redirect: 'error',
    headers: { accept: 'application/json' },
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${url} answered ${response.status}`)
  if (text.length > MAX_DOCUMENT_BYTES) throw new Error(`${url} sent more than ${MAX_DOCUMENT_BYTES} bytes`)
  return JSON.parse(text)
}

/**
 * An OpenID provider as creditgate uses it: its discovery document and its signing keys, held in
 * memory, so that verifying a token never waits for the network — except for one fetch when a
 * token names a key not seen yet (a rotation), at most once per JWKS_COOLDOWN_MS whatever the
 * number of such tokens. The last good keys stay while the provider cannot be reached.
 * Why tokens are verified against held keys: ../../../docs/decisions/011-oidc.md
 */
export function createProvider(options: ProviderOptions) {
  const now = options.now ?? Date.now
  const report = options.onFetch ?? (() => {})
  let discovery: Discovery | undefined
  let keys: Keys | undefined
  let lastAttempt = Number.NEGATIVE_INFINITY
  let inflight: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  async function discover(): Promise<Discovery> {
    const url = `${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
    try {
      const found = DiscoverySchema.parse(await fetchJson(url))
      // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was fetched for.
      if (found.issuer !== options.issuer) throw new Error(`the discovery document names the issuer ${found.issuer}, not ${options.issuer}`)
      report('discovery', 'ok')
      return found
    } catch (err) {
      report('discovery', 'error', err)
      throw err
    }
  }

  async function load(): Promise<void> {
    discovery ??= await discover()
    try {
      const jwks = JwksSchema.parse(await fetchJson(discovery.jwks_uri)) as JSONWebKeySet
      const usable = jwks.keys.filter((key) => algorithmsOf(key).length > 0)
      keys = { get: createLocalJWKSet({ keys: usable }), algorithms: [...new Set(usable.flatMap(algorithmsOf))], kids: usable.length }
      report('jwks', 'ok')
    } catch (err) {
      report('jwks', 'error', err)
      throw err
    }
  }

  /** Fetches discovery and keys again unless that was tried in the last JWKS_COOLDOWN_MS; concurrent callers share one fetch. */
  function refresh(): Promise<void> {
    if (inflight) return inflight
    if (now() - lastAttempt < JWKS_COOLDOWN_MS) return Promise.resolve()
    lastAttempt = now()
    inflight = load()
      .catch(() => {})
      .finally(() => {
        inflight = undefined
      })
    return inflight
  }

  async function verifyWith(current: Keys, token: string) {
    return jwtVerify(token, current.get, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: current.algorithms,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'sub'],
    })
  }

  return {
    /** Loads the provider's documents now and every JWKS_REFRESH_MS after, in the background. */
    start(): Promise<void> {
      timer ??= setInterval(() => void refresh(), JWKS_REFRESH_MS).unref()
      return refresh()
    },
    stop(): void {
      clearInterval(timer)
    },
    get discovery(): Discovery | undefined {
      return discovery
    },
    /** Discovery for a sign-in: fetched now if it never was (the provider was down at start). */
    async endpoints(): Promise<Discovery> {
      if (!discovery) await refresh()
      if (!discovery) throw new Error('the identity provider cannot be reached')
      return discovery
    },
    /** The keys held now: how many, and which algorithms they verify. */
    get keys(): { kids: number; algorithms: string[] } | undefined {
      return keys && { kids: keys.kids, algorithms: keys.algorithms }
    },
    /** A bearer token's verified claims, or a TokenError saying why it is refused. */
    async verify(token: string): Promise<Record<string, unknown>> {
      if (token.length > MAX_TOKEN_BYTES) throw new TokenError(`the token is longer than ${MAX_TOKEN_BYTES} bytes`)
      if (!keys) await refresh()
      const held = keys
      if (!held) throw new TokenError("the identity provider's keys could not be loaded: try again shortly")
      try {
        return (await verifyWith(held, token)).payload
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw tokenError(err)
        // A key not seen yet: the provider may have rotated its keys. One fetch per cooldown, then once more.
        await refresh()
        if (keys === held) throw new TokenError('the token is signed with a key the identity provider does not publish')
        return (await verifyWith(keys as Keys, token).catch((again) => Promise.reject(tokenError(again)))).payload
      }
    },
  }
}

export type Provider = ReturnType<typeof createProvider>

/** jose's reasons in words a caller can act on. */
function tokenError(err: unknown): TokenError {
  if (err instanceof errors.JWTExpired) return new TokenError('the token has expired')
  if (err instanceof errors.JWTClaimValidationFailed) return new TokenError(`the token's ${err.claim} claim is not valid (${err.reason})`)
  if (err instanceof errors.JOSEAlgNotAllowed) return new TokenError("the token's algorithm is not one the identity provider's keys use")
  if (err instanceof errors.JWKSNoMatchingKey)
    return new TokenError('the token is signed with a key the identity provider does not publish')
  if (err instanceof errors.JWSSignatureVerificationFailed) return new TokenError("the token's signature does not verify")
  return new TokenError('the token is not a valid signed JWT')
}
