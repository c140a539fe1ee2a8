import { parentPort } from 'node:worker_threads'
import { prepareRuleSet } from './fixtures.js'
import type { RuleSource } from './rule-set.js'

/** Runs in a worker thread: validates each candidate set it is sent, runs its fixtures, reports back. */
parentPort?.on('message', async ({ id, rules, fixtures }: { id: number; rules: RuleSource[]; fixtures: RuleSource[] }) => {
  parentPort?.postMessage({ id, prepared: await prepareRuleSet(rules, fixtures) })
})
