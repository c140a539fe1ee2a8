import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { FlightFailure, Leadership, SingleFlight } from '../../services/contacts.js'
import { DELETE_IF } from './client.js'
import { type RedisConnection, viaRedis } from './connection.js'
import type { RedisEvents } from './events.js'

/**
 * Single flight across instances through Redis: the leader holds a short lock, kept alive while
 * it works; the others wait for its result, woken by a pub/sub message. A leader that crashes
 * stops renewing its lock; it expires within LOCK_MS and a follower takes over. A failure is
 * left for the followers for a few seconds.
 * Why a lock of our own, not a dedupe library: ../../../docs/decisions/002-single-flight.md
 */
export const LOCK_MS = 3000
const RENEW_MS = 1000
const FAILURE_MS = 3000

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`

/** The Redis keys of a flight (its key is the service's `org:contactId`), hash-tagged by organization. */
export const flightKeys = (key: string) => {
  const [org, ...rest] = key.split(':')
  const base = `creditgate:v1:{${org}}:flight:${rest.join(':')}`
  return { lock: `${base}:lock`, failure: `${base}:failed` }
}

export function createRedisFlight(link: RedisConnection & RedisEvents, log: FastifyBaseLogger): SingleFlight {
  const waiters = new Map<string, Set<() => void>>()
  link.onEvent((event) => {
    if (event.type !== 'flight_done') return
    for (const wake of waiters.get(event.key) ?? []) wake()
  })
  /** Without Redis every instance leads for itself; the in-process single flight still holds. */
  const alone: Leadership = { finish: async () => {} }

  return {
    lead(key) {
      const keys = flightKeys(key)
      return viaRedis(
        link,
        async (): Promise<Leadership | undefined> => {
          const me = randomUUID()
          if ((await link.client.set(keys.lock, me, 'PX', LOCK_MS, 'NX')) !== 'OK') return undefined
          const renew = setInterval(() => {
            link.client.eval(RENEW, 1, keys.lock, me, LOCK_MS).catch((err) => log.debug({ err }, 'flight lock renewal failed'))
          }, RENEW_MS)
          return {
            async finish(failure) {
              clearInterval(renew)
              await viaRedis(
                link,
                async () => {
                  if (failure) await link.client.set(keys.failure, JSON.stringify(failure), 'PX', FAILURE_MS)
                  await link.client.eval(DELETE_IF, 1, keys.lock, me)
                },
                async () => {},
              )
              await link.publish({ type: 'flight_done', key })
            },
          }
        },
        async () => alone,
      )
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
    failure(key) {
      return viaRedis(
        link,
        async () => {
          const raw = await link.client.get(flightKeys(key).failure)
          if (!raw) return undefined
          try {
            return JSON.parse(raw) as FlightFailure
          } catch {
            return undefined
          }
        },
        async () => undefined,
      )
    },
  }
}
