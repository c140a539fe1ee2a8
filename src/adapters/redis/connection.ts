import type { FastifyBaseLogger } from 'fastify'
import { ReplyError } from 'ioredis'
import { isProblem } from '../../errors.js'
import type { RedisClient } from './client.js'

/**
 * The steps of Redis's return after an outage, in this order. Each step's tasks run together
 * (one failing does not stop the others), and the next step starts once all have settled:
 * - `check`: what the return itself tells (did Redis come back without its data?);
 * - `resync`: what each user must do before Redis is used again (add the Zoho calls made
 *   meanwhile to the shared minute, replay purges, write reservations made in-process).
 */
export const RETURN_STEPS = ['check', 'resync'] as const
export type ReturnStep = (typeof RETURN_STEPS)[number]

/**
 * The shared Redis connection and whether it may be used. Redis failing must never fail a
 * request: commands fail fast (no offline queue, a short command timeout) and every user of
 * Redis falls back to an in-process twin while `up` is false, returning to Redis when it is back.
 *
 * The protocol: going down, `up` turns false, then every `onDown` listener is told (not awaited).
 * Coming back, `up` stays false while every `beforeUp` task runs, step by step (RETURN_STEPS);
 * it turns true only once all have settled and the client is still ready and not down again
 * meanwhile. No user relies on Redis before the work of the return is done.
 */
export interface RedisConnection {
  readonly client: RedisClient
  /** True while Redis answers and the return's tasks are done. A failed command takes it down for a second. */
  readonly up: boolean
  /** The client is ready and not in the pause after a failure (`up` may still wait for the return's tasks). */
  readonly reachable: boolean
  /** Redis answers but refuses writes (out of memory, `maxmemory` reached), as seen in the last 10 s. */
  readonly full: boolean
  /** Reports a failed command: the connection goes down, and its users fall back. */
  failed(err: unknown): void
  /** Called as soon as the connection goes down (`up` is already false). */
  onDown(listener: () => void): void
  /** A task of every return, at step `step` (default `resync`): `up` waits for it to settle. */
  beforeUp(task: () => void | Promise<void>, step?: ReturnStep): void
}

const DOWN_AFTER_FAILURE_MS = 1000
const FULL_FOR_MS = 10_000

/**
 * Follows the client's up/down changes. `settle()` works through the latest change (a return's
 * tasks included) and says whether the client was reachable then.
 */
export function openConnection(client: RedisClient, log: FastifyBaseLogger): { connection: RedisConnection; settle(): Promise<boolean> } {
  const downListeners = new Set<() => void>()
  const tasks: Record<ReturnStep, Set<() => void | Promise<void>>> = { check: new Set(), resync: new Set() }
  let downUntil = 0
  let fullAt = 0
  /** Reachable at the last change. */
  let wasReachable = false
  /** Redis is back and the return's tasks are done. */
  let returned = false
  /** Moves on every up/down change, so that a return overtaken by a newer change does nothing. */
  let generation = 0
  /** The latest up/down change being worked through; awaiting notify() awaits it. */
  let transition: Promise<void> = Promise.resolve()

  const reachable = () => client.status === 'ready' && Date.now() >= downUntil
  const notify = (): Promise<void> => {
    const now = reachable()
    if (now === wasReachable) return transition
    wasReachable = now
    const mine = ++generation
    if (!now) {
      returned = false
      log.warn('redis unreachable: degraded to the in-process cache, budget and token')
      for (const listener of downListeners) void listener()
      transition = Promise.resolve()
      return transition
    }
    transition = (async () => {
      for (const step of RETURN_STEPS) await Promise.allSettled([...tasks[step]].map(async (task) => task()))
      // Still reachable after all that: Redis is in use again.
      if (mine === generation && reachable()) {
        returned = true
        log.info('redis reachable: using the shared cache, budget and token')
      }
    })()
    return transition
  }
  client.on('ready', () => void notify())
  client.on('close', () => void notify())
  client.on('error', (err) => log.debug({ err }, 'redis connection error'))

  const connection: RedisConnection = {
    client,
    get up() {
      return returned && reachable()
    },
    get reachable() {
      return reachable()
    },
    get full() {
      return Date.now() - fullAt < FULL_FOR_MS
    },
    failed(err) {
      const message = (err as Error).message ?? ''
      if (message.startsWith('OOM')) fullAt = Date.now()
      log.warn({ err: { message } }, 'redis command failed')
      downUntil = Date.now() + DOWN_AFTER_FAILURE_MS
      void notify()
      // Come back up after the pause if the connection is still ready.
      setTimeout(() => void notify(), DOWN_AFTER_FAILURE_MS + 10).unref()
    },
    onDown(listener) {
      downListeners.add(listener)
    },
    beforeUp(task, step = 'resync') {
      tasks[step].add(task)
    },
  }
  return {
    connection,
    async settle() {
      await notify()
      return wasReachable
    },
  }
}

/**
 * Replies in which Redis says it cannot serve now — out of memory, loading its data, a replica,
 * a failover or a script under way, credentials refused — rather than that the command is wrong.
 */
const UNAVAILABLE_REPLY =
  /^(OOM|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF|NOAUTH|NOPERM|WRONGPASS|NOSCRIPT)\b/

/**
 * Redis answered, refusing the command itself (an invalid stream id, a key of another type, a
 * script's error): a fault of this request, not of Redis. Taking it for an outage would drop
 * every instance's shared state for a second on one bad request.
 */
export const isCommandError = (err: unknown): boolean => err instanceof ReplyError && !UNAVAILABLE_REPLY.test((err as Error).message ?? '')

/**
 * The one fallback strategy every shared store uses: the Redis operation while the connection is
 * up; else, or when it fails, the in-process fallback, and the connection goes down for a moment.
 * A Problem (a refusal such as "the budget is spent") is an answer, not a Redis failure: it
 * passes, and so does a reply refusing the command (isCommandError), which fails the request it
 * came from. The single place where "Redis failing is never a 5xx" is decided.
 */
export async function viaRedis<T>(
  connection: Pick<RedisConnection, 'up' | 'failed'>,
  primary: () => Promise<T>,
  fallback: () => Promise<T>,
): Promise<T> {
  if (connection.up) {
    try {
      return await primary()
    } catch (err) {
      if (isProblem(err) || isCommandError(err)) throw err
      connection.failed(err)
    }
  }
  return fallback()
}
