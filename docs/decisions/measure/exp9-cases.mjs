// 009: what cases cost a decision, and whether the callback outbox sends each event once.
//
//   npm run build (in the repository), then: node exp9-cases.mjs
//
// 1. settle() on real Redis, 2,000 times each: an order without a reference (no Redis command), a
//    reference with no case (one HGET), a held order updating its open case (HGET + one script).
// 2. 1,000 case events in the Redis outbox, two workers (two connections, as two instances) ticking
//    every 20 ms, a receiver that answers 500 to the first attempt of one event in ten: time until
//    all are accepted, attempts, events accepted more than once.
import { once } from 'node:events'
import { createServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { createLocalCases } from '../../../dist/adapters/local/cases.js'
import { createLocalDeliveries, createLocalOutbox } from '../../../dist/adapters/local/outbox.js'
import { createRedisCases } from '../../../dist/adapters/redis/cases.js'
import { connectRedis } from '../../../dist/adapters/redis/link.js'
import { createRedisDeliveries, createRedisOutbox } from '../../../dist/adapters/redis/outbox.js'
import { compileRuleSet } from '../../../dist/rules/rule-set.js'
import { createCallbacks } from '../../../dist/services/callbacks.js'
import { createCaseService } from '../../../dist/services/cases.js'
import { readRulesFolder } from '../../../dist/services/rule-sets/sources.js'
import { median, sleep, startRedis, stopRedis } from './lib.mjs'

const PORT = 16399
const ORG = '10234695'
const log = pino({ level: 'silent' })
await startRedis(PORT)
const links = [await connectRedis(`redis://127.0.0.1:${PORT}`, log), await connectRedis(`redis://127.0.0.1:${PORT}`, log)]
try {
  const { ruleSet } = compileRuleSet((await readRulesFolder('../../../rules')).rules)
  const cases = createCaseService({
    store: createRedisCases(links[0], createLocalCases()),
    policy: { expireDays: 14, releaseValidDays: 7, tolerance: 0.1 },
    limits: new Map(),
    organizations: () => [ORG],
    rules: () => ruleSet,
  })
  const answer = (decision, i) => ({
    decision_id: `d${i}`,
    decision,
    contact_id: '460000000031004',
    organization_id: ORG,
    reasons: decision === 'allow' ? [] : [{ rule: 'credit-limit-exceeded', code: 'CREDIT_LIMIT_EXCEEDED', severity: 'block', message: 'over' }],
    alerts: [],
    facts: null,
    rules_version: 'v',
    contact: null,
    receivables: null,
    evaluated_at: '',
  })
  const time = async (label, input, decision) => {
    const us = []
    for (let i = 0; i < 2000; i++) {
      const started = performance.now()
      await cases.settle(input(i), answer(decision, i))
      us.push((performance.now() - started) * 1000)
    }
    console.log(`settle, ${label}: median ${median(us).toFixed(0)} µs`)
  }
  await time('no reference', () => ({ org: ORG, contactId: '1', order: { amount: 1 }, caller: 'shop' }), 'block')
  await time('a reference, allowed, no case', (i) => ({ org: ORG, contactId: '1', order: { amount: 1, reference: `A-${i}` }, caller: 'shop' }), 'allow')
  await time('held, the same open case asked 2,000 times', () => ({ org: ORG, contactId: '1', order: { amount: 1, reference: 'H-1' }, caller: 'shop' }), 'block')
  await time('held, 2,000 new cases', (i) => ({ org: ORG, contactId: '1', order: { amount: 1, reference: `N-${i}` }, caller: 'shop' }), 'block')

  const N = 1000
  const attempts = new Map()
  const accepted = new Map()
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const id = req.headers['webhook-id']
      const n = (attempts.get(id) ?? 0) + 1
      attempts.set(id, n)
      if (n === 1 && Number.parseInt(id.slice(-2), 16) % 10 === 0) return res.writeHead(500).end()
      accepted.set(id, (accepted.get(id) ?? 0) + 1)
      res.writeHead(204).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${server.address().port}/`
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`
  const workers = links.map((link) =>
    createCallbacks({
      store: createRedisOutbox(link, createLocalOutbox()),
      deliveries: createRedisDeliveries(link, createLocalDeliveries()),
      targets: [{ name: 'shop', url, secret }],
      backoffMs: 50,
    }),
  )
  const started = performance.now()
  for (let i = 0; i < N; i++) await workers[0].enqueue('opened', { case_id: `case_${i}`, opened_by: 'shop' })
  const enqueued = performance.now()
  let handled = [0, 0]
  while (accepted.size < N && performance.now() - started < 60_000) {
    const counts = await Promise.all(workers.map((w) => w.tick()))
    handled = handled.map((h, i) => h + counts[i])
    await sleep(20)
  }
  const twice = [...accepted.values()].filter((n) => n > 1).length
  console.log(
    `outbox: ${N} events queued in ${(enqueued - started).toFixed(0)} ms; all ${accepted.size} accepted after ${(performance.now() - started).toFixed(0)} ms; ` +
      `${[...attempts.values()].reduce((a, b) => a + b, 0)} attempts (${handled.join(' + ')} by the two workers); accepted more than once: ${twice}`,
  )
  server.close()
} finally {
  for (const link of links) await link.close()
  stopRedis(PORT)
}
