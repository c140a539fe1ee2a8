import type { ZohoCredentials } from '../../config.js'
import { Problem } from '../../errors.js'

/** An access token and when creditgate stops using it (shortly before Zoho expires it). */
export interface MintedToken {
  readonly token: string
  readonly expiresAt: number
}

export type MintToken = () => Promise<MintedToken>

/** Zoho lets one refresh token mint 10 access tokens per 10 minutes (docs/zoho.md, OAuth). */
export const MINTS_PER_WINDOW = 10
export const MINT_WINDOW_MS = 10 * 60_000

/**
 * The OAuth refresh-token grant: form-encoded POST to {accounts}/oauth/v2/token. Zoho reports
 * refusals as HTTP 200 with an `error` field; those are errors here. No secret reaches a message.
 */
export function createTokenMinter(options: {
  accountsUrl: string
  credentials: ZohoCredentials
  timeoutMs: number
  now?: () => number
}): MintToken {
  const now = options.now ?? Date.now
  const url = `${options.accountsUrl}/oauth/v2/token`
  return async () => {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: options.credentials.refreshToken,
      client_id: options.credentials.clientId,
      client_secret: options.credentials.clientSecret,
    })
    let status: number
    let body: Record<string, unknown> | undefined
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(options.timeoutMs),
      })
      status = res.status
      const text = await res.text()
      try {
        body = JSON.parse(text) as Record<string, unknown>
      } catch {
        // Not JSON: body stays undefined, judged below by the status or as a missing access_token.
      }
    } catch (err) {
      throw new Problem('upstream_unavailable', 'the Zoho accounts server did not answer the token refresh', {
        retryAfterSeconds: 5,
        cause: err,
      })
    }
    if (status >= 500 || status === 429) {
      throw new Problem('upstream_unavailable', `the Zoho accounts server answered HTTP ${status} to the token refresh`, {
        retryAfterSeconds: status === 429 ? 60 : 5,
      })
    }
    const error = typeof body?.error === 'string' ? body.error : undefined
    if (error === 'Access Denied') {
      throw new Problem('upstream_unavailable', 'Zoho is throttling token refreshes for this refresh token (Access Denied)', {
        retryAfterSeconds: 60,
      })
    }
    if (error !== undefined || status !== 200) {
      throw new Problem('upstream_error', `Zoho refused the token refresh: ${error ?? `HTTP ${status}`}`)
    }
    const token = body?.access_token
    const expiresIn = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600
    if (typeof token !== 'string' || token.length === 0) {
      throw new Problem('upstream_error', 'the Zoho token response carries no access_token')
    }
    // Stop using a token a little before Zoho does: in-flight calls must not carry a dying token.
    const margin = Math.min(300, expiresIn / 4)
    return { token, expiresAt: now() + (expiresIn - margin) * 1000 }
  }
}

/** Mint timestamps inside the window → seconds until another mint is allowed, or 0. */
export function mintWait(mints: readonly number[], now: number): number {
  const recent = mints.filter((t) => t > now - MINT_WINDOW_MS)
  if (recent.length < MINTS_PER_WINDOW) return 0
  // The oldest recent mint leaves the window after a positive time: at least 1 s once rounded up.
  return Math.ceil((Math.min(...recent) + MINT_WINDOW_MS - now) / 1000)
}

export const mintsExhausted = (seconds: number) =>
  new Problem('upstream_unavailable', 'Zoho allows 10 token refreshes per 10 minutes and they are used up', {
    retryAfterSeconds: seconds,
  })
