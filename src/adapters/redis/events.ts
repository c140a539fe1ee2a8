import type { FastifyBaseLogger } from 'fastify'
import { Cluster, Redis } from 'ioredis'
import type { RedisClient } from './client.js'
import type { RedisConnection } from './connection.js'

/** What instances tell each other. */
export type RedisEvent =
  | { type: 'flight_done'; key: string }
  | { type: 'zoho_call'; org: string; id: string; at: number }
  | { type: 'invalidated'; org: string; contactId: string }
  | { type: 'receivables'; org: string }
  | { type: 'payments'; org: string }
  | { type: 'group_balances'; org: string }

export const EVENTS_CHANNEL = 'creditgate:v1:events'

/** The event bus between instances, over Redis pub/sub. */
export interface RedisEvents {
  /** Publishes an event to every instance (nothing while Redis is unreachable). */
  publish(event: RedisEvent): Promise<void>
  /** Listens to events from every instance (this one included). */
  onEvent(listener: (event: RedisEvent) => void): () => void
  /**
   * Whether events from other instances reach this one now, and a counter that moves each time
   * they may have been missed (the subscriber lost its connection). Copies kept on the strength
   * of events are trusted only within one epoch.
   */
  readonly eventsLive: boolean
  readonly eventsEpoch: number
  /** When events were last possibly missed (the subscriber lost its connection), or 0. */
  readonly eventsLostAt: number
}

/**
 * The connection events arrive on. For a Cluster, the node connection ioredis's cluster subscriber
 * listens on now (not in ioredis's typed API: read defensively; none until it has subscribed).
 */
function listeningConnection(subscriber: RedisClient): () => Redis | undefined {
  if (!(subscriber instanceof Cluster)) return () => subscriber
  const inner = subscriber as unknown as { subscriber?: { getInstance?: () => Redis | undefined } }
  return () => {
    const connection = inner.subscriber?.getInstance?.()
    return connection instanceof Redis ? connection : undefined
  }
}

/**
 * Subscribes `subscriber` to the events channel and publishes through the connection's client.
 * `subscribed` settles once the subscription is made (or refused); `close()` drops the subscriber.
 */
export function openEvents(
  connection: Pick<RedisConnection, 'client' | 'reachable' | 'failed'>,
  subscriber: RedisClient,
  log: FastifyBaseLogger,
): { events: RedisEvents; subscribed: Promise<unknown>; close(): void } {
  const listeners = new Set<(event: RedisEvent) => void>()
  let eventsEpoch = 0
  let eventsLostAt = 0
  const eventsLost = () => {
    eventsEpoch++
    eventsLostAt = Date.now()
  }
  const listening = listeningConnection(subscriber)
  let watched: Redis | undefined
  const watchListening = () => {
    const now = listening()
    if (now && now !== watched && subscriber instanceof Cluster) {
      watched = now
      now.on('close', eventsLost)
    }
  }
  // A Cluster's subscriber is not one connection: ioredis listens on a node it picks, and picks
  // another when that one goes. Every connection it listens on is watched for its close.
  const watchTimer = subscriber instanceof Cluster ? setInterval(watchListening, 100) : undefined
  watchTimer?.unref()
  if (!(subscriber instanceof Cluster)) subscriber.on('close', eventsLost)
  subscriber.on('error', (err) => log.debug({ err }, 'redis subscriber error'))
  subscriber.on('message', (_channel: string, message: string) => {
    let event: RedisEvent
    try {
      event = JSON.parse(message) as RedisEvent
    } catch {
      return
    }
    for (const listener of listeners) listener(event)
  })
  const subscribed = subscriber.subscribe(EVENTS_CHANNEL).catch((err) => log.warn({ err }, 'redis subscribe failed'))

  const events: RedisEvents = {
    async publish(event) {
      if (!connection.reachable) return
      try {
        await connection.client.publish(EVENTS_CHANNEL, JSON.stringify(event))
      } catch (err) {
        connection.failed(err)
      }
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    get eventsLive() {
      watchListening()
      return listening()?.status === 'ready'
    },
    get eventsEpoch() {
      return eventsEpoch
    },
    get eventsLostAt() {
      return eventsLostAt
    },
  }
  return {
    events,
    subscribed,
    close() {
      clearInterval(watchTimer)
      // The subscriber just goes: a QUIT queued while Redis is away would wait for it.
      subscriber.disconnect()
    },
  }
}
