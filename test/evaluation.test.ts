import t from 'tap'
import { evaluate } from '../src/rules/evaluate.js'
import { problem, startApp, startSandbox } from './helpers/app.js'

/**
 * A decision is made only from a complete evaluation: whatever evaluates the rules, a run that
 * did not produce a result for every rule is a 500 `evaluation_failed`, never an allow.
 */
t.test('an evaluation that lost a rule is a 500, never a decision', async (t) => {
  const sandbox = await startSandbox(t)
  // An evaluator that loses the last rule of the set: outstanding-over-50000, the rule that
  // blocks this contact. Without the guard the answer would be an allow.
  const { app } = await startApp(t, sandbox, {
    deps: {
      evaluate: async (ruleSet, facts, options) => {
        const full = await evaluate(ruleSet, facts, options)
        const lost = ruleSet.rules.at(-1)?.definition.name
        return {
          ...full,
          decision: 'allow',
          reasons: [],
          fired: full.fired.filter((name) => name !== lost),
          evaluated: full.evaluated.filter((name) => name !== lost),
        }
      },
    },
  })
  for (const url of [
    '/contacts/460000000026049/risk',
    '/contacts/460000000026049/risk?order_amount=10',
    '/contacts/460000000026049/risk?explain=true',
  ]) {
    const body = problem(t, await app.inject({ url }), 500, 'evaluation_failed')
    t.match(body.detail, /no decision was made/)
  }
})

t.test('an evaluation that reports a rule twice is a 500 too', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    deps: {
      evaluate: async (ruleSet, facts, options) => {
        const full = await evaluate(ruleSet, facts, options)
        return { ...full, evaluated: [full.evaluated[0] as string, ...full.evaluated.slice(0, -1)] }
      },
    },
  })
  problem(t, await app.inject({ url: '/contacts/460000000031001/risk' }), 500, 'evaluation_failed')
})
