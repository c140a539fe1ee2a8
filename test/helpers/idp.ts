import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import Provider from 'oidc-provider'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** Provider roles, as a company's identity provider would name its groups; OIDC_ROLE_MAP maps them to ours. */
export const ROLE_MAP = 'credit-admin:admin,credit-approver:approver,order-system:caller,credit-viewer:viewer'
export const AUDIENCE = 'https://creditgate.example/api'

/** Machine clients (client-credentials grant), one per role, and people (the console's sign-in), by the roles they hold. */
export const CLIENT_ROLES: Record<string, string[]> = {
  'svc-admin': ['credit-admin'],
  'svc-approver': ['credit-approver'],
  'svc-viewer': ['credit-viewer'],
  'svc-caller': ['order-system'],
  'svc-nobody': ['unrelated-group'],
}
export const PEOPLE: Record<string, { name: string; roles: string[] }> = {
  ada: { name: 'Ada Admin', roles: ['credit-admin'] },
  alice: { name: 'Alice Approver', roles: ['credit-approver'] },
  victor: { name: 'Victor Viewer', roles: ['credit-viewer'] },
  nora: { name: 'Nora Nobody', roles: ['unrelated-group'] },
}
export const CLIENT_SECRET = 'test-secret-that-is-long-enough-0123456789'
export const CONSOLE_CLIENT = 'creditgate-console'

export interface Idp {
  issuer: string
  /** Requests for the JWKS so far (a flood of unknown kids must not multiply them). */
  readonly jwksFetches: number
  /** The provider's signing key (private), to forge tokens that only a test may sign. */
  privateKey: CryptoKey
  publicJwk: JWK
  kid: string
  /** An access token for AUDIENCE from the client-credentials grant of one of CLIENT_ROLES's clients. */
  token(client: keyof typeof CLIENT_ROLES | string): Promise<string>
  /** A JWT signed with the provider's key, claims and header as given (hostile tokens). */
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>
  /** Stops answering (the provider is down) and starts again on the same port. */
  stop(): Promise<void>
  restart(): Promise<void>
  /** Env for creditgate against this provider. */
  env: Record<string, string>
}

/**
 * panva's oidc-provider (OpenID certified) on a loopback port: real discovery, real JWKS, real
 * client-credentials and authorization-code (+ PKCE) flows, with users for each role. Its
 * development login page takes any password.
 */
export async function startIdp(t: Teardown): Promise<Idp> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const kid = 'test-key-1'
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' }
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }
  let issuer = 'http://127.0.0.1:0'
  let jwksFetches = 0
  const build = () => {
    const provider = new Provider(issuer, {
      clients: [
        ...Object.keys(CLIENT_ROLES).map((client_id) => ({
          client_id,
          client_secret: CLIENT_SECRET,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        })),
        {
          client_id: CONSOLE_CLIENT,
          client_secret: CLIENT_SECRET,
          // Native: a loopback redirect URI matches on any port (RFC 8252), the port creditgate listens on in a test.
          application_type: 'native',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: ['http://127.0.0.1/auth/callback'],
        },
      ],
      jwks: { keys: [privateJwk] },
      cookies: { keys: ['idp-cookie-key-for-tests-only'] },
      pkce: { required: () => true },
      features: {
        devInteractions: { enabled: true },
        clientCredentials: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: 'api',
            audience: AUDIENCE,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      claims: { openid: ['sub'], profile: ['name'] },
      findAccount: (_ctx, sub) => (PEOPLE[sub] ? { accountId: sub, claims: () => ({ sub, name: PEOPLE[sub]?.name }) } : undefined),
      extraTokenClaims: (_ctx, token) => {
        const { accountId, clientId } = token as unknown as { accountId?: string; clientId?: string }
        if (accountId) return { roles: PEOPLE[accountId]?.roles ?? [], name: PEOPLE[accountId]?.name }
        return { roles: CLIENT_ROLES[clientId ?? ''] ?? [] }
      },
    })
    provider.use(async (ctx, next) => {
      if (ctx.path === '/jwks') jwksFetches++
      await next()
    })
    return provider
  }
  let server = build().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const port = (server.address() as AddressInfo).port
  issuer = `http://127.0.0.1:${port}`
  // The issuer is fixed when the provider is made: now that the port is known, make it again there.
  await new Promise((resolve) => server.close(resolve))
  const listen = async () => {
    server = build().listen(port, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  await listen()
  t.teardown(stop)
  return {
    issuer,
    get jwksFetches() {
      return jwksFetches
    },
    privateKey,
    publicJwk,
    kid,
    async token(client) {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client}:${CLIENT_SECRET}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: AUDIENCE, scope: 'api' }),
      })
      const body = (await response.json()) as { access_token?: string; error_description?: string }
      if (!body.access_token) throw new Error(`no token for ${client}: ${JSON.stringify(body)}`)
      return body.access_token
    },
    sign(claims, header = {}) {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({ iss: issuer, aud: AUDIENCE, sub: 'forger', iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid, ...header })
        .sign(privateKey)
    },
    stop,
    restart: listen,
    env: { OIDC_ISSUER: issuer, OIDC_AUDIENCE: AUDIENCE, OIDC_ROLE_MAP: ROLE_MAP },
  }
}
