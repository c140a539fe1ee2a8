// 006: finding a decision by its id. The stream as it was (entries placed at the id's millisecond,
// a look-up reading forward from there, at most 1,000 entries) against the stream with an index
// (decision id → entry, kept and trimmed by the same script). 100,000 recorded decisions of ~1.3 KB.
//
//   npm run build (in the repository), then: node exp6-decision-index.mjs
//
// Prints, for each layout: append time per decision, Redis memory of the stream and the index,
// look-up time and entries read for kept ids and made-up ids, and whether a decision recorded after
// 1,500 younger ones (Zoho answered it slowly) is found.
import { Redis } from 'ioredis'
import { APPEND, FIND, historyKey, indexKey, trimBatch } from '../../../dist/adapters/redis/history.js'
import { syntheticDecision } from '../../../dist/cli/history-fill.js'
import { newDecisionId } from '../../../dist/domain/history.js'
import { median, startRedis, stopRedis } from './lib.mjs'

const PORT = 16396
const N = 100_000
const ORG = '10234695'

/** The append and the look-up of the previous commit (src/adapters/redis/history.ts before 006). */
const OLD_APPEND = `
local id = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[2] .. '-*', 'd', ARGV[3], 'j', ARGV[4])
if type(id) == 'table' and id.err then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[3], 'j', ARGV[4])
end
return id
`
async function oldFind(client, decisionId, atMs) {
  let start = `${atMs}-0`
  let read = 0
  for (let i = 0; i < 10; i++) {
    const entries = await client.xrange(historyKey(ORG), start, '+', 'COUNT', 100)
    read += entries.length
    for (const [, fields] of entries) if (fields[1] === decisionId) return { json: fields[3], read }
    const last = entries.at(-1)
    if (!last || entries.length < 100) break
    start = `(${last[0]}`
  }
  return { json: undefined, read }
}

const layouts = {
  old: {
    append: (client, r, at) => client.eval(OLD_APPEND, 1, historyKey(ORG), N, at, r.decision_id, JSON.stringify(r)),
    find: oldFind,
  },
  index: {
    append: (client, r, at) =>
      client.eval(APPEND, 2, historyKey(ORG), indexKey(ORG), N, trimBatch(N), at, r.decision_id, JSON.stringify(r), r.contact_id, r.decision),
    find: async (client, id, at) => ({ json: await client.eval(FIND, 2, historyKey(ORG), indexKey(ORG), id, at, 1000), read: undefined }),
  },
}

const xrangeCalls = async (client) => Number(/cmdstat_xrange:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0)

await startRedis(PORT)
const client = new Redis(PORT)
try {
  for (const [name, layout] of Object.entries(layouts)) {
    await client.flushall()
    const start = Date.now() - N
    const ids = []
    let t0 = performance.now()
    for (let from = 0; from < N; from += 2000) {
      const pipeline = client.pipeline()
      for (let i = from; i < from + 2000; i++) {
        const r = syntheticDecision(i, start + i, ORG)
        ids.push([r.decision_id, start + i])
        layout.append(pipeline, r, start + i)
      }
      await pipeline.exec()
    }
    const appendUs = ((performance.now() - t0) * 1000) / N
    const streamBytes = await client.memory('USAGE', historyKey(ORG), 'SAMPLES', 0)
    const indexBytes = (await client.memory('USAGE', indexKey(ORG), 'SAMPLES', 0)) ?? 0

    const times = []
    let read = 0
    let found = 0
    const calls0 = await xrangeCalls(client)
    for (let k = 0; k < 1000; k++) {
      const [id, at] = ids[Math.floor(Math.random() * N)]
      t0 = performance.now()
      const result = await layout.find(client, id, at)
      times.push(performance.now() - t0)
      if (result.json) found++
      read += result.read ?? 0
    }
    const kept = { ms: median(times), found, xrange: (await xrangeCalls(client)) - calls0, read }
    const madeUpTimes = []
    const calls1 = await xrangeCalls(client)
    let madeUpRead = 0
    for (let k = 0; k < 1000; k++) {
      const at = start + Math.floor(Math.random() * N)
      t0 = performance.now()
      const result = await layout.find(client, newDecisionId(at), at)
      madeUpTimes.push(performance.now() - t0)
      madeUpRead += result.read ?? 0
    }
    const madeUp = { ms: median(madeUpTimes), xrange: (await xrangeCalls(client)) - calls1, read: madeUpRead }

    // A decision whose id was made before 1,500 others were recorded (Zoho took its time).
    const slowAt = Date.now()
    for (let i = 0; i < 1500; i++) await layout.append(client, syntheticDecision(i, slowAt + 1 + i, ORG), slowAt + 1 + i)
    const slow = syntheticDecision(7, slowAt, ORG)
    await layout.append(client, slow, slowAt)
    const slowFound = Boolean((await layout.find(client, slow.decision_id, slowAt)).json)

    console.log(
      `${name.padEnd(6)} append ${appendUs.toFixed(1)} µs/decision (pipelined) · stream ${(streamBytes / 2 ** 20).toFixed(1)} MiB, index ${(indexBytes / 2 ** 20).toFixed(1)} MiB ·` +
        ` kept id: median ${kept.ms.toFixed(3)} ms, ${kept.found}/1000 found, ${kept.xrange} XRANGE calls${kept.read ? `, ${kept.read} entries read` : ''} ·` +
        ` made-up id: median ${madeUp.ms.toFixed(3)} ms, ${madeUp.xrange} XRANGE calls${madeUp.read ? `, ${madeUp.read} entries read` : ''} ·` +
        ` recorded after 1,500 younger: ${slowFound ? 'found' : 'NOT FOUND'}`,
    )
  }
} finally {
  client.disconnect()
  stopRedis(PORT)
}
