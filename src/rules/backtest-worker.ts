import { parentPort } from 'node:worker_threads'
import type { DecisionRecord } from '../domain/history.js'
import type { Facts } from '../domain/facts.js'
import { checkedEvaluate, createMemo } from '../services/decisions.js'
import { type ComparisonCounter, createComparison, lacksFacts } from './compare.js'
import type { RuleSet } from './rule-set.js'

/**
 * Runs in a worker thread: a backtest is a rule set, then chunks of recorded decisions (JSON),
 * then an end. Each record is evaluated with the evaluator the decisions use (complete or an
 * error, remembered by inputs like the decision service's) and compared with what was decided.
 */
type Message =
  | { id: number; type: 'start'; ruleSet: RuleSet }
  | { id: number; type: 'records'; records: string[] }
  | { id: number; type: 'end' }

const evaluate = checkedEvaluate()
const jobs = new Map<number, { ruleSet: RuleSet; comparison: ComparisonCounter; memo: ReturnType<typeof createMemo>; queue: Promise<void> }>()

async function compare(job: { ruleSet: RuleSet; comparison: ComparisonCounter; memo: ReturnType<typeof createMemo> }, records: string[]) {
  for (const json of records) {
    const record = JSON.parse(json) as DecisionRecord
    const comparable = !lacksFacts(job.ruleSet, record.facts)
    job.comparison.add(record, comparable ? await job.memo.evaluate(job.ruleSet, record.facts as Facts) : undefined)
  }
}

parentPort?.on('message', (message: Message) => {
  if (message.type === 'start') {
    jobs.set(message.id, {
      ruleSet: message.ruleSet,
      comparison: createComparison(message.ruleSet),
      memo: createMemo(50_000, evaluate),
      queue: Promise.resolve(),
    })
    return
  }
  const job = jobs.get(message.id)
  if (!job) return
  job.queue = job.queue.then(async () => {
    if (!jobs.has(message.id)) return
    try {
      if (message.type === 'records') await compare(job, message.records)
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
