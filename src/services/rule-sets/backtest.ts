import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { RedisTarget } from '../../config.js'
import { Problem } from '../../errors.js'
import type { RuleSet } from '../../rules/rule-set.js'
import type { HistoryRange } from '../history.js'
import type { Comparison } from './compare.js'

/**
 * Backtests off the event loop: recorded decisions are streamed in chunks to a worker thread
 * that evaluates them under a candidate set, one backtest at a time; the service keeps
 * answering meanwhile. A backtest that takes longer than timeoutMs is given up (and its worker
 * replaced).
 */
export interface Backtester {
  /**
   * Compares the set with recorded decisions: those the worker reads from Redis itself, if any,
   * and those handed over as chunks of JSON records joined by commas.
   */
  run(ruleSet: RuleSet, source: BacktestSource): Promise<Comparison>
  close(): Promise<void>
}

/** Where a worker reads recorded decisions itself: the newest `limit` of these organizations' streams in the range. */
export interface RedisSource {
  target: RedisTarget
  organizations: readonly string[]
  range: HistoryRange
  limit: number
}

export interface BacktestSource {
  redis?: RedisSource | undefined
  /** Records as JSON joined by commas, in UTF-8 (decoded in the worker). */
  records: AsyncIterable<Uint8Array>
  /** Records compared at most, over both. */
  limit: number
}

const WORKER = new URL(`../../workers/backtest-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)

/** Backtests that may wait while one runs (then 429). */
export const BACKTESTS_WAITING = 2

export function createBacktester(options: { timeoutMs?: number; maxWaiting?: number } = {}): Backtester {
  const timeoutMs = options.timeoutMs ?? 120_000
  const maxWaiting = options.maxWaiting ?? BACKTESTS_WAITING
  let queue: Promise<unknown> = Promise.resolve()
  /** The backtest under way and those waiting behind it. */
  let pending = 0
  let worker: Worker | undefined
  let jobs = 0

  const run = async (ruleSet: RuleSet, { redis, records, limit }: BacktestSource): Promise<Comparison> => {
    if (!worker) {
      worker = new Worker(WORKER, { resourceLimits: { maxOldGenerationSizeMb: 1024 } })
      worker.unref()
    }
    const current = worker
    const id = ++jobs
    let timer: NodeJS.Timeout | undefined
    let onMessage: ((message: { id: number; result?: Comparison; error?: string }) => void) | undefined
    let onError: ((err: Error) => void) | undefined
    const retire = () => {
      if (worker === current) worker = undefined
      void current.terminate()
    }
    const answer = new Promise<Comparison>((resolve, reject) => {
      onMessage = (message) => {
        if (message.id !== id) return
        if (message.result) resolve(message.result)
        else reject(new Error(`the backtest failed: ${message.error}`))
      }
      onError = (err) => {
        retire()
        reject(new Error(`the backtest failed: ${err.message.slice(0, 200)}`))
      }
      timer = setTimeout(() => {
        retire()
        reject(new Problem('invalid_request', `the backtest took longer than ${timeoutMs / 1000} s: narrow it with since, until or limit`))
      }, timeoutMs)
      current.on('message', onMessage)
      current.once('error', onError)
    })
    answer.catch(() => {})
    try {
      current.postMessage({ id, type: 'start', ruleSet, limit, redis })
      try {
        for await (const chunk of records) current.postMessage({ id, type: 'records', records: chunk })
      } finally {
        current.postMessage({ id, type: 'end' })
      }
      return await answer
    } finally {
      clearTimeout(timer)
      if (onMessage) current.off('message', onMessage)
      if (onError) current.off('error', onError)
    }
  }

  return {
    run(ruleSet, source) {
      // One runs; maxWaiting more may wait for it.
      if (pending > maxWaiting) {
        return Promise.reject(
          new Problem('rate_limited', `a backtest is under way and ${maxWaiting} are waiting; try again shortly`, { retryAfterSeconds: 5 }),
        )
      }
      pending++
      const result = queue.then(() => run(ruleSet, source)).finally(() => pending--)
      queue = result.catch(() => {})
      return result
    },
    async close() {
      await worker?.terminate()
      worker = undefined
    },
  }
}
