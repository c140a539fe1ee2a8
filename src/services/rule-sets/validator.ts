import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { Problem } from '../../errors.js'
import { deepFreeze } from '../../lib/deep-freeze.js'
import { compiled } from '../../rules/compile.js'
import type { RuleSource } from '../../rules/rule-set.js'
import type { Prepared } from './fixtures.js'

/**
 * Checks candidate rule sets — validation and every fixture case — in a worker thread, one set at
 * a time, so that the service keeps answering however large a set is, and gives up on a set that
 * takes longer than timeoutMs. Bounds on what a file may hold (src/rules/bounds.ts) keep the work
 * finite; this keeps it off the event loop.
 */
export interface RuleValidator {
  check(rules: readonly RuleSource[], fixtures: readonly RuleSource[]): Promise<Prepared>
  close(): Promise<void>
}

const WORKER = new URL(`../../workers/validator-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)
const failed = (message: string): Prepared => ({
  ok: false,
  errors: [{ file: '(rules)', path: '$', message }],
  fixtures: { passed: 0, failures: [] },
})

/** Compiles a checked set once, here, as it arrives: every decision under it calls the compiled functions. */
function withCompiled(prepared: Prepared): Prepared {
  try {
    if (prepared.ruleSet) compiled(prepared.ruleSet)
    return prepared
  } catch (err) {
    return failed(`the set could not be compiled: ${(err as Error).message}`)
  }
}

export function createRuleValidator(options: { timeoutMs?: number; maxWaiting?: number } = {}): RuleValidator {
  const timeoutMs = options.timeoutMs ?? 30_000
  const maxWaiting = options.maxWaiting ?? 8
  let queue: Promise<unknown> = Promise.resolve()
  let waiting = 0
  let worker: Worker | undefined
  let jobs = 0

  /** One set at a time through one worker, started when first needed and replaced after a timeout or crash. */
  const run = (rules: readonly RuleSource[], fixtures: readonly RuleSource[]) =>
    new Promise<Prepared>((resolve) => {
      if (!worker) {
        worker = new Worker(WORKER, { resourceLimits: { maxOldGenerationSizeMb: 256 } })
        worker.unref()
      }
      const current = worker
      const id = ++jobs
      const done = (prepared: Prepared, retire: boolean) => {
        clearTimeout(timer)
        current.off('message', onMessage)
        current.off('error', onError)
        if (retire && worker === current) {
          worker = undefined
          void current.terminate()
        }
        resolve(prepared.ruleSet ? withCompiled({ ...prepared, ruleSet: deepFreeze(prepared.ruleSet) }) : prepared)
      }
      const onMessage = (message: { id: number; prepared: Prepared }) => {
        if (message.id === id) done(message.prepared, false)
      }
      const onError = (err: Error) => done(failed(`checking the set failed: ${err.message.slice(0, 200)}`), true)
      const timer = setTimeout(
        () => done(failed(`checking the set took longer than ${timeoutMs / 1000} s: split it, or run fewer fixture cases`), true),
        timeoutMs,
      )
      current.on('message', onMessage)
      current.once('error', onError)
      current.postMessage({ id, rules, fixtures })
    })

  return {
    check(rules, fixtures) {
      if (waiting >= maxWaiting) {
        return Promise.reject(
          new Problem('rate_limited', `${waiting} rule sets are waiting to be checked; try again shortly`, { retryAfterSeconds: 5 }),
        )
      }
      waiting++
      const result = queue.then(() => run(rules, fixtures)).finally(() => waiting--)
      queue = result.catch(() => {})
      return result
    },
    async close() {
      await worker?.terminate()
      worker = undefined
    },
  }
}
