import { createHash, randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { Problem } from '../../errors.js'
import type { AccessTokens } from '../zoho/ports.js'
import { MINT_WINDOW_MS, MINTS_PER_WINDOW, type MintedToken, type MintToken, mintsExhausted } from '../zoho/tokens.js'
import { DELETE_IF } from './client.js'
import { type RedisConnection, viaRedis } from './connection.js'

/** Records a mint if fewer than ARGV[1] happened in the window; else the ms until one leaves it. */
const TAKE_MINT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + tonumber(ARGV[2]) - now
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
`

const LOCK_MS = 15_000
const WAIT_MS = 15_000

/**
 * One access token for every instance: kept in Redis until shortly before it expires, minted
 * under a lock by one instance at a time, and never more than Zoho's 10 per 10 minutes, however
 * many instances start at once or see a token rejected. While Redis is down, the in-process
 * provider takes over (with its own count of mints).
 */
export function createSharedTokens(options: {
  link: RedisConnection
  mint: MintToken
  /** Identifies the refresh token without revealing it. */
  credentialId: string
  local: AccessTokens
  log: FastifyBaseLogger
  /** The clock tokens expire by (tests move it). */
  now?: () => number
}): AccessTokens {
  const { link, mint, local, log } = options
  const now = options.now ?? Date.now
  const tag = createHash('sha256').update(options.credentialId).digest('hex').slice(0, 16)
  const tokenKey = `creditgate:v1:zoho:{${tag}}:token`
  const lockKey = `creditgate:v1:zoho:{${tag}}:token:lock`
  const mintsKey = `creditgate:v1:zoho:{${tag}}:token:mints`
  let current: MintedToken | undefined
  let pending: Promise<string> | undefined

  const valid = (t: MintedToken | undefined): t is MintedToken => t !== undefined && now() < t.expiresAt
  const readStored = async (): Promise<MintedToken | undefined> => {
    const raw = await link.client.get(tokenKey)
    if (!raw) return undefined
    try {
      const parsed = JSON.parse(raw) as MintedToken
      return typeof parsed.token === 'string' && typeof parsed.expiresAt === 'number' ? parsed : undefined
    } catch {
      return undefined
    }
  }

  async function mintUnderLock(): Promise<string> {
    const deadline = now() + WAIT_MS
    const me = randomUUID()
    for (;;) {
      const stored = await readStored()
      if (valid(stored)) {
        current = stored
        return stored.token
      }
      if ((await link.client.set(lockKey, me, 'PX', LOCK_MS, 'NX')) === 'OK') {
        try {
          const again = await readStored()
          if (valid(again)) {
            current = again
            return again.token
          }
          const wait = Number(await link.client.eval(TAKE_MINT, 1, mintsKey, MINTS_PER_WINDOW, MINT_WINDOW_MS, me))
          if (wait > 0) throw mintsExhausted(Math.ceil(wait / 1000))
          const minted = await mint()
          await link.client.set(tokenKey, JSON.stringify(minted), 'PX', Math.max(1, minted.expiresAt - now()))
          current = minted
          log.info('minted a zoho access token for all instances')
          return minted.token
        } finally {
          await link.client.eval(DELETE_IF, 1, lockKey, me).catch(() => {})
        }
      }
      if (now() > deadline) {
        throw new Problem('upstream_unavailable', 'another instance is refreshing the Zoho access token', { retryAfterSeconds: 2 })
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  return {
    async get() {
      if (valid(current)) return current.token
      return viaRedis(
        link,
        () =>
          (pending ??= mintUnderLock().finally(() => {
            pending = undefined
          })),
        () => local.get(),
      )
    },
    async reject(token) {
      if (current?.token === token) current = undefined
      await local.reject(token)
      // Only the copy holding the rejected token goes: a token another instance already
      // refreshed stays, so N instances seeing one rejection cause one mint.
      await viaRedis(
        link,
        async () => {
          const stored = await readStored()
          if (stored?.token === token) await link.client.eval(DELETE_IF, 1, tokenKey, JSON.stringify(stored))
        },
        async () => {},
      )
    },
  }
}
