import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import { createRedisClient } from '../adapters/redis/client.js'
import { readPage } from '../adapters/redis/history.js'
import type { Facts } from '../domain/facts.js'
import type { DecisionRecord } from '../domain/history.js'
import { readAhead } from '../lib/read-ahead.js'
import type { RuleSet } from '../rules/rule-set.js'
import { checkedEvaluate } from '../services/decisions.js'
import { type HistoryRange, historyBatches } from '../services/history.js'
import type { RedisSource } from '../services/rule-sets/backtest.js'
import { type ComparisonCounter, createComparison, lacksFacts } from '../services/rule-sets/compare.js'

/**
 * Runs in a worker thread: a backtest is a rule set, then chunks of recorded decisions (JSON),
 * then an end. Each record is evaluated with the evaluator the decisions use (complete or an
 * error, remembered by inputs like the decision service's) and compared with what was decided.
 */
type Message =
  | { id: number; type: 'start'; ruleSet: RuleSet; limit: number; redis?: RedisSource }
  | { id: number; type: 'records'; records: Uint8Array }
  | { id: number; type: 'end' }

// This thread gives way to the one answering requests when both want the processor (Linux: the
// thread's own nice value, found through /proc/thread-self; elsewhere nothing changes). Nice 5,
// not 19: on a busy machine 19 starves the backtest itself.
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').at(-1)), 5)
} catch {
  // not Linux, or not allowed: the backtest runs at the service's priority
}

const evaluate = checkedEvaluate()
interface Job {
  ruleSet: RuleSet
  comparison: ComparisonCounter
  /** Records still to compare: the newest from Redis first, then what the service's ring adds. */
  left: number
  queue: Promise<void>
}
const jobs = new Map<number, Job>()

/** Compares one record, unless the job has all it wants (then false). */
async function compareRecord(job: Job, record: DecisionRecord): Promise<boolean> {
  if (job.left-- <= 0) return false
  const comparable = !lacksFacts(job.ruleSet, record.facts, record.cut)
  job.comparison.add(record, comparable ? await evaluate(job.ruleSet, record.facts as Facts) : undefined)
  return true
}

async function compare(job: Job, records: Uint8Array) {
  // Buffer's UTF-8 decoding, not TextDecoder's: a tenth of the time on a chunk of 2,000 records.
  const text = Buffer.from(records.buffer, records.byteOffset, records.byteLength).toString('utf8')
  for (const record of JSON.parse(`[${text}]`) as DecisionRecord[]) if (!(await compareRecord(job, record))) return
}

/** Reads the recorded decisions from Redis here, with a client of its own: the service's thread never decodes them. */
async function fromRedis(job: Job, source: RedisSource) {
  const client = createRedisClient(source.target, true)
  client.on('error', () => {})
  try {
    const store = { page: (org: string, range: HistoryRange, count: number) => readPage(client, org, range, count) }
    let left = source.limit
    for await (const batch of readAhead(historyBatches(store, source.organizations, source.range, undefined, 2000))) {
      for (const entry of batch) {
        // Each record parsed on its own: a third of the time of parsing a page's records joined.
        if (left-- <= 0 || !(await compareRecord(job, JSON.parse(entry.json.toString()) as DecisionRecord))) return
      }
    }
  } finally {
    client.disconnect()
  }
}

parentPort?.on('message', (message: Message) => {
  if (message.type === 'start') {
    jobs.set(message.id, {
      ruleSet: message.ruleSet,
      comparison: createComparison(message.ruleSet),
      left: message.limit,
      queue: Promise.resolve(),
    })
  }
  const job = jobs.get(message.id)
  if (!job) return
  job.queue = job.queue.then(async () => {
    if (!jobs.has(message.id)) return
    try {
      if (message.type === 'start') {
        if (message.redis) await fromRedis(job, message.redis)
      } else if (message.type === 'records') await compare(job, message.records)
      else {
        jobs.delete(message.id)
        parentPort?.postMessage({ id: message.id, result: job.comparison.result() })
      }
    } catch (err) {
      jobs.delete(message.id)
      parentPort?.postMessage({ id: message.id, error: (err as Error).message.slice(0, 300) })
    }
  })
})
