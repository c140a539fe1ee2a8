import { parentPort } from 'node:worker_threads'
import type { RuleSource } from '../rules/rule-set.js'
import { prepareRuleSet } from '../services/rule-sets/fixtures.js'

/** Runs in a worker thread: validates each candidate set it is sent, runs its fixtures, reports back. */
parentPort?.on('message', async ({ id, rules, fixtures }: { id: number; rules: RuleSource[]; fixtures: RuleSource[] }) => {
  parentPort?.postMessage({ id, prepared: await prepareRuleSet(rules, fixtures) })
})
