import type { Delivery, DeliveryLog, OutboxEvent, OutboxStore } from '../../services/callbacks.js'
import { DELIVERIES_TTL_MS } from '../local/outbox.js'
import { type RedisConnection, viaRedis } from './connection.js'

/** Event ids by due time, and the events by id (one hash tag: one script reaches both in a Cluster). */
export const OUTBOX_DUE = 'creditgate:v1:{callbacks}:due'
export const OUTBOX_EVENTS = 'creditgate:v1:{callbacks}:events'

/**
 * KEYS: due, events. ARGV: now, lease until, max. Takes the events due by now and moves them to
 * "lease until", in one step: two instances never lease the same event. An instance that dies
 * with a lease leaves the event due again when the lease ends.
 * Why a leased outbox for the callbacks: ../../../docs/decisions/009-cases.md
 */
const LEASE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local event = redis.call('HGET', KEYS[2], id)
  if event then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out + 1] = event
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`

/**
 * The outbox in Redis: it outlives restarts of every instance. While Redis is down new events go
 * to the in-process outbox, which is leased from as well, so they are sent all the same.
 */
export function createRedisOutbox(link: RedisConnection, local: OutboxStore): OutboxStore {
  const { client } = link
  const put = (event: OutboxEvent, dueMs: number) =>
    client.multi().hset(OUTBOX_EVENTS, event.id, JSON.stringify(event)).zadd(OUTBOX_DUE, dueMs, event.id).exec()
  const remote = new Set<string>()
  return {
    add: (event) =>
      viaRedis(
        link,
        async () => {
          await put(event, 0)
          return []
        },
        () => local.add(event),
      ),
    async lease(nowMs, leaseMs, max) {
      const leased = await viaRedis(
        link,
        async () =>
          ((await client.eval(LEASE, 2, OUTBOX_DUE, OUTBOX_EVENTS, nowMs, nowMs + leaseMs, max)) as string[]).map(
            (json) => JSON.parse(json) as OutboxEvent,
          ),
        async () => [],
      )
      for (const event of leased) remote.add(event.id)
      return [...leased, ...(await local.lease(nowMs, leaseMs, max))]
    },
    async done(event) {
      if (!remote.delete(event.id)) return local.done(event)
      await viaRedis(
        link,
        async () => {
          await client.multi().zrem(OUTBOX_DUE, event.id).hdel(OUTBOX_EVENTS, event.id).exec()
        },
        // Redis went away: the event stays there, and is sent again when its lease ends (at least once).
        async () => undefined,
      )
    },
    async retry(event, dueMs) {
      if (!remote.delete(event.id)) return local.retry(event, dueMs)
      await viaRedis(
        link,
        async () => {
          await put(event, dueMs)
        },
        async () => undefined,
      )
    },
  }
}

/** A case's callback deliveries (event id → JSON), kept 30 days after the last change (DELIVERIES_TTL_MS). */
export const deliveriesKey = (caseId: string) => `creditgate:v1:{callbacks}:deliveries:${caseId}`

export function createRedisDeliveries(link: RedisConnection, local: DeliveryLog): DeliveryLog {
  const { client } = link
  return {
    note: (caseId, delivery) =>
      viaRedis(
        link,
        async () => {
          const key = deliveriesKey(caseId)
          await client.multi().hset(key, delivery.event_id, JSON.stringify(delivery)).pexpire(key, DELIVERIES_TTL_MS).exec()
        },
        () => local.note(caseId, delivery),
      ),
    list: (caseId) =>
      viaRedis(
        link,
        async () => [
          ...Object.values(await client.hgetall(deliveriesKey(caseId))).map((json) => JSON.parse(json) as Delivery),
          ...(await local.list(caseId)),
        ],
        () => local.list(caseId),
      ),
  }
}
