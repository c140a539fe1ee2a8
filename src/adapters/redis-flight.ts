import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { ProblemCode } from '../errors.js'
import { DELETE_IF, type RedisLink } from './redis.js'

/** What a leader that failed leaves for the instances waiting on it. */
export interface FlightFailure {
  readonly code: ProblemCode
  readonly detail: string
  readonly retryAfterSeconds?: number | undefined
  /** When it failed: followers only believe failures from after they started waiting. */
  readonly at: number
}

export interface Leadership {
  /** Done (the result is in the cache) or failed (followers read the failure). Releases the lock. */
  finish(failure?: FlightFailure): Promise<void>
}

/**
 * Cross-instance single flight: of all instances missing the same contact at once, one leads
 * (holds a short Redis lock, kept alive while it works, and fetches) and the others follow
 * (wait for its result to appear in the cache, woken by a pub/sub message). A leader that
 * crashes stops renewing its lock; it expires within LOCK_MS and a follower takes over.
 */
export interface FlightCoordinator {
  /** Leadership, or undefined when another instance leads. */
  lead(key: string): Promise<Leadership | undefined>
  /** Resolves when the leader of key finishes, or after ms. */
  wait(key: string, ms: number): Promise<void>
  /** The failure a leader left, if any (kept for a few seconds). */
  failure(key: string): Promise<FlightFailure | undefined>
}

export const LOCK_MS = 3000
const RENEW_MS = 1000
const FAILURE_MS = 3000

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`

export function createRedisFlight(link: RedisLink, log: FastifyBaseLogger): FlightCoordinator {
  const waiters = new Map<string, Set<() => void>>()
  link.onEvent((event) => {
    if (event.type !== 'flight_done') return
    for (const wake of waiters.get(event.key) ?? []) wake()
  })
  const lockKey = (key: string) => `${key}:lock`
  const failureKey = (key: string) => `${key}:failed`

  /** Without Redis every instance leads for itself; the in-process single flight still holds. */
  const alone: Leadership = { finish: async () => {} }

  return {
    async lead(key) {
      if (!link.up) return alone
      const me = randomUUID()
      try {
        if ((await link.client.set(lockKey(key), me, 'PX', LOCK_MS, 'NX')) !== 'OK') return undefined
      } catch (err) {
        link.failed(err)
        return alone
      }
      const renew = setInterval(() => {
        link.client.eval(RENEW, 1, lockKey(key), me, LOCK_MS).catch((err) => log.debug({ err }, 'flight lock renewal failed'))
      }, RENEW_MS)
      renew.unref()
      return {
        async finish(failure) {
          clearInterval(renew)
          try {
            if (failure) await link.client.set(failureKey(key), JSON.stringify(failure), 'PX', FAILURE_MS)
            await link.client.eval(DELETE_IF, 1, lockKey(key), me)
          } catch (err) {
            link.failed(err)
          }
          await link.publish({ type: 'flight_done', key })
        },
      }
    },
    wait(key, ms) {
      return new Promise<void>((resolve) => {
        const set = waiters.get(key) ?? new Set()
        waiters.set(key, set)
        const done = () => {
          clearTimeout(timer)
          set.delete(done)
          if (set.size === 0) waiters.delete(key)
          resolve()
        }
        const timer = setTimeout(done, ms)
        set.add(done)
      })
    },
    async failure(key) {
      if (!link.up) return undefined
      const raw = await link.client.get(failureKey(key)).catch(() => null)
      if (!raw) return undefined
      try {
        return JSON.parse(raw) as FlightFailure
      } catch {
        return undefined
      }
    },
  }
}
