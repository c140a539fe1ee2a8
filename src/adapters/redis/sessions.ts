import type { SessionStore } from '../../services/sessions.js'
import { createLocalSessions } from '../local/sessions.js'
import { type RedisConnection, viaRedis } from './connection.js'

const PREFIX = 'creditgate:v1:auth:'

/**
 * Sessions in Redis, shared by the instances (a sign-out ends the session everywhere); while
 * Redis is down, in this process (a person may have to sign in again: never a 5xx).
 */
export function createRedisSessions(link: RedisConnection, memory: SessionStore = createLocalSessions()): SessionStore {
  return {
    get: (key) =>
      viaRedis(
        link,
        async () => (await link.client.get(PREFIX + key)) ?? undefined,
        () => memory.get(key),
      ),
    set: (key, value, ttlSeconds) =>
      viaRedis(
        link,
        async () => {
          await link.client.set(PREFIX + key, value, 'EX', ttlSeconds)
        },
        () => memory.set(key, value, ttlSeconds),
      ),
    delete: async (key) => {
      // Both: a session opened while Redis was down lives in memory.
      await memory.delete(key)
      await viaRedis(
        link,
        async () => {
          await link.client.del(PREFIX + key)
        },
        async () => {},
      )
    },
  }
}
