import t from 'tap'
import { evaluateCompiled } from '../../src/rules/compile.js'
import { evaluate } from '../../src/rules/reference.js'
import { logCapture, problem, startApp, startSandbox } from '../helpers/app.js'

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

t.test('RULES_VERIFY_SAMPLE: a disagreement answers json-rules-engine, logs both, counts, and makes /readyz degraded', async (t) => {
  const sandbox = await startSandbox(t)
  const logs = logCapture()
  // The seam: the compiled evaluator with its result corrupted, as a compiler bug would: the
  // block rule that fires for this contact is dropped and the answer says allow.
  const { app } = await startApp(t, sandbox, {
    env: { RULES_VERIFY_SAMPLE: '1', LOG_LEVEL: 'info' },
    logs,
    deps: {
      evaluate: (ruleSet, facts, options) => {
        const right = evaluateCompiled(ruleSet, facts, options)
        return { ...right, decision: 'allow', reasons: [], fired: right.fired.filter((name) => name !== 'outstanding-over-50000') }
      },
    },
  })
  const ready = (await app.inject({ url: '/readyz' })).json()
  t.same([ready.status, ready.checks.rules_verify.degraded], ['ready', undefined])

  const res = await app.inject({ url: '/contacts/460000000026049/risk' })
  t.equal(res.statusCode, 200)
  t.same(
    [res.json().decision, res.json().reasons.map((r: { code: string }) => r.code)],
    ['block', ['OUTSTANDING_OVER_LIMIT']],
    'json-rules-engine’s result',
  )

  const line = logs.lines.find((l) => l.component === 'rules-verify')
  t.match(line, {
    level: 50,
    msg: /the compiled rules disagree with json-rules-engine/,
    rules_version: app.rules.current().version,
    facts: { outstanding_bcy: 62400 },
    compiled: { decision: 'allow' },
    json_rules_engine: { decision: 'block' },
  })
  const logged = line as { compiled: { fired: string[]; reasons: unknown[] }; json_rules_engine: { fired: string[] } }
  t.same(
    [logged.compiled.fired, logged.compiled.reasons, logged.json_rules_engine.fired],
    [['apply-unused-credits'], [], ['apply-unused-credits', 'outstanding-over-50000']],
    'both evaluations logged exactly',
  )
  t.notOk('contact' in ((line?.facts ?? {}) as object), 'the facts, not the whole contact')

  const metrics = (await app.inject({ url: '/metrics' })).body
  t.match(metrics, /^creditgate_rules_verify_disagreements_total 1$/m)

  const degraded = await app.inject({ url: '/readyz' })
  t.equal(degraded.statusCode, 200)
  t.match(degraded.json(), { status: 'degraded', checks: { rules_verify: { ok: true, degraded: true } } })

  // From now on json-rules-engine decides this version; nothing more is counted.
  t.equal((await app.inject({ url: '/contacts/460000000026049/risk?order_amount=5' })).json().decision, 'block')
  t.match((await app.inject({ url: '/metrics' })).body, /^creditgate_rules_verify_disagreements_total 1$/m)
})

t.test('RULES_VERIFY_SAMPLE=0 checks nothing: the compiled result is the answer', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    env: { RULES_VERIFY_SAMPLE: '0' },
    deps: { evaluate: (ruleSet, facts, options) => ({ ...evaluateCompiled(ruleSet, facts, options), decision: 'allow', reasons: [] }) },
  })
  t.equal((await app.inject({ url: '/contacts/460000000026049/risk' })).json().decision, 'allow', 'the corrupted result went out')
  t.match((await app.inject({ url: '/metrics' })).body, /^creditgate_rules_verify_disagreements_total 0$/m)
  t.equal((await app.inject({ url: '/readyz' })).json().status, 'ready')
})
