import t from 'tap'
import { createLocalDeliveries, DELIVERIES_PER_CASE, DELIVERIES_TTL_MS } from '../../src/adapters/local/outbox.js'
import type { Delivery } from '../../src/services/callbacks.js'

/**
 * The callback deliveries noted in the process (without Redis, and while it is down): kept as long
 * as Redis keeps them, 30 days after the case's last note, and the newest 100 of a case.
 */
const T0 = Date.parse('2026-12-01T09:00:00.000Z')
const DAY = 86_400_000
const delivery = (n: number, state: Delivery['state'] = 'pending'): Delivery => ({
  event_id: `msg_${n}`,
  type: 'case.opened',
  state,
  attempts: 0,
  last_result: null,
  at: new Date(T0).toISOString(),
})

t.test('deliveries expire 30 days after the last note of their case, as in Redis', async (t) => {
  t.equal(DELIVERIES_TTL_MS, 30 * DAY)
  let now = T0
  const log = createLocalDeliveries(() => now)
  await log.note('case_a', delivery(1))
  await log.note('case_b', delivery(2))
  now += 20 * DAY
  await log.note('case_b', delivery(2, 'delivered'))
  now += 10 * DAY - 1
  t.same(await log.list('case_a'), [delivery(1)], 'kept for 30 days')
  now += 1
  t.same(await log.list('case_a'), [], 'then gone')
  t.same(await log.list('case_b'), [delivery(2, 'delivered')], 'a later note keeps the case longer')
  now += 20 * DAY
  await log.note('case_c', delivery(3))
  t.same(await log.list('case_b'), [], 'gone 30 days after its last note')
  t.same(await log.list('case_c'), [delivery(3)])
})

t.test('a case keeps its newest 100 deliveries', async (t) => {
  const log = createLocalDeliveries(() => T0)
  for (let n = 0; n < DELIVERIES_PER_CASE + 50; n++) await log.note('case_a', delivery(n))
  await log.note('case_a', delivery(60, 'gave_up'))
  const kept = await log.list('case_a')
  t.equal(kept.length, DELIVERIES_PER_CASE)
  t.same(kept[0], delivery(50), 'the oldest 50 went')
  t.same(kept[10], delivery(60, 'gave_up'), 'a later note of an event changes it in place')
  t.same(kept.at(-1), delivery(DELIVERIES_PER_CASE + 49))
})
