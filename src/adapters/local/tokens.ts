import type { AccessTokens } from '../zoho/ports.js'
import { MINTS_PER_WINDOW, type MintedToken, type MintToken, mintsExhausted, mintWait } from '../zoho/tokens.js'

/** One token per process: refreshed on expiry or rejection, one refresh at a time. */
export function createLocalTokens(mint: MintToken, now: () => number = Date.now): AccessTokens {
  let current: MintedToken | undefined
  let pending: Promise<string> | undefined
  const mints: number[] = []
  const refresh = async () => {
    const wait = mintWait(mints, now())
    if (wait > 0) throw mintsExhausted(wait)
    mints.push(now())
    while (mints.length > MINTS_PER_WINDOW) mints.shift()
    current = await mint()
    return current.token
  }
  return {
    get() {
      if (current && now() < current.expiresAt) return Promise.resolve(current.token)
      pending ??= refresh().finally(() => {
        pending = undefined
      })
      return pending
    },
    async reject(token) {
      if (current?.token === token) current = undefined
    },
  }
}
