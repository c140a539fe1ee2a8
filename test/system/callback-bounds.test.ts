import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import t from 'tap'
import { createLocalDeliveries, createLocalOutbox, OUTBOX_EVENTS_IN_PROCESS } from '../../src/adapters/local/outbox.js'
import { openCase } from '../../src/domain/case.js'
import { createCallbacks, GIVE_UP_MS } from '../../src/services/callbacks.js'
import { hold, POLICY } from '../helpers/cases.js'

/**
 * The in-process outbox (without Redis, and while it is down) in front of a callback target that
 * accepts connections and never answers: it holds at most 10,000 events, giving the oldest up the
 * way the worker gives events up, and no event is sent more than 24 hours after it happened.
 */
const ORG = '10234695'
const T0 = Date.parse('2026-12-01T09:00:00.000Z')
const caseOf = (n: number) =>
  openCase(
    hold({
      caseId: `case_${n.toString(16).padStart(24, '0')}`,
      org: ORG,
      order: { reference: `SO-${n}`, amount: 8000 },
      decisionId: `d${n}`,
      reasons: [],
    }),
    T0,
    POLICY,
  )

t.test('a target that hangs: the outbox keeps 10,000 events, gives the oldest up, and never sends one older than 24 hours', async (t) => {
  let requests = 0
  const server = createServer((req) => {
    requests++
    req.resume()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
  let now = T0
  const results: string[] = []
  const callbacks = createCallbacks({
    store: createLocalOutbox(),
    deliveries: createLocalDeliveries(() => now),
    targets: [{ name: 'shop', url, secret: `whsec_${randomBytes(32).toString('base64')}` }],
    now: () => now,
    timeoutMs: 200,
    onResult: (result, _event, detail, attempts) => results.push(`${result} after ${attempts}: ${detail}`),
  })
  const extra = 5
  for (let n = 0; n < OUTBOX_EVENTS_IN_PROCESS + extra; n++) await callbacks.enqueue('opened', caseOf(n))
  const full = 'the outbox was full: the oldest event made room for a newer one'
  t.same(results, Array(extra).fill(`gave_up after 0: ${full}`), 'one event given up for each past 10,000, through the worker’s path')
  t.match(await callbacks.deliveries(caseOf(0).case_id), [{ state: 'gave_up', attempts: 0, last_result: full }])
  t.match(await callbacks.deliveries(caseOf(extra).case_id), [{ state: 'pending', attempts: 0 }], 'the next oldest still waits')

  results.length = 0
  t.equal(await callbacks.tick(), 20, 'a batch is sent')
  // Each attempt times out at 200 ms; on a loaded machine a request may time out before it arrives.
  const sent = requests
  t.ok(sent > 0 && sent <= 20, `${sent} requests arrived, and hang`)
  t.same(new Set(results), new Set(['failed after 1: The operation was aborted due to timeout']))

  // A day later, nothing has been sent: whatever is still waiting is given up unsent.
  now += GIVE_UP_MS + 60_000
  results.length = 0
  for (let ticks = 0; ticks < 1000 && requests === sent && (await callbacks.tick()) > 0; ticks++);
  t.equal(requests, sent, 'not one more request')
  t.equal(results.length, OUTBOX_EVENTS_IN_PROCESS, 'every event given up')
  t.equal(results.at(-1), 'gave_up after 0: not sent within 24 hours of the event')
  t.match(await callbacks.deliveries(caseOf(extra).case_id), [{ state: 'gave_up', attempts: 1 }], 'an event tried once')
  t.match(await callbacks.deliveries(caseOf(OUTBOX_EVENTS_IN_PROCESS).case_id), [{ state: 'gave_up', attempts: 0 }], 'one never tried')
  t.equal(await callbacks.tick(), 0, 'the outbox is empty')
})
