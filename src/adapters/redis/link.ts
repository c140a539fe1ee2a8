import { once } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisTarget } from '../../config.js'
import { createRedisClient, describeRedis } from './client.js'
import { openConnection, type RedisConnection } from './connection.js'
import { type DataLoss, watchDataLoss } from './data-loss.js'
import { openEvents, type RedisEvents } from './events.js'
import { type RedisPresence, startPresence } from './presence.js'

export { EVENTS_CHANNEL, type RedisEvent } from './events.js'

/**
 * Everything creditgate shares through Redis, in its parts: the connection and whether it may be
 * used (connection.ts), the event bus between instances (events.ts), the instances alive
 * (presence.ts) and whether Redis lost its data (data-loss.ts). Each store takes the parts it
 * reads (`RedisConnection & RedisEvents`, …); the plugin that opens the link holds all of them.
 */
export type RedisLink = RedisConnection & RedisEvents & RedisPresence & DataLoss & { close(): Promise<void> }

/** One object with every part's members, getters kept (a part's members never use `this`). */
function join<T>(...parts: object[]): T {
  const joined = {}
  for (const part of parts) Object.defineProperties(joined, Object.getOwnPropertyDescriptors(part))
  return joined as T
}

export async function connectRedis(where: RedisTarget | string, log: FastifyBaseLogger): Promise<RedisLink> {
  const target: RedisTarget = typeof where === 'string' ? { mode: 'url', url: where } : where
  const client = createRedisClient(target, false)
  const { connection, settle } = openConnection(client, log)
  const dataLoss = watchDataLoss(connection, log)
  const events = openEvents(connection, createRedisClient(target, true), log)
  const presence = startPresence(connection)

  // Give Redis a moment at start (and the subscription, so that the first look at shared state
  // is followed by its events); without it the service starts degraded and recovers later.
  const ready = client.status === 'ready' ? Promise.resolve() : once(client, 'ready')
  await Promise.race([Promise.all([ready, events.subscribed]), new Promise((r) => setTimeout(r, 2000).unref())]).catch(() => {})
  if (await settle()) await presence.beat()
  else log.warn({ redis: describeRedis(target) }, 'redis not reachable at start: serving degraded until it is')

  const close = async () => {
    await presence.stop()
    await client.quit().catch(() => {})
    // Also closes what quit leaves open (the Sentinel connections watching for a failover).
    client.disconnect()
    events.close()
  }
  return join<RedisLink>(connection, events.events, presence.presence, dataLoss, { close })
}
