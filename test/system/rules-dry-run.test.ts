import t from 'tap'
import { problem } from '../helpers/app.js'
import { reviewRule } from '../helpers/rules.js'
import { ADMIN, CALLER, rulesApp, rulesCopy } from '../helpers/rules-folder.js'

/** POST /risk/evaluate: a decision on a supplied contact, under the active set or a candidate one; Zoho is never asked. */

t.test('POST /risk/evaluate: a dry run on a supplied contact, no Zoho', async (t) => {
  const dir = await rulesCopy(t)
  const { app, sandbox, status } = await rulesApp(t, dir)
  const evaluate = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/risk/evaluate', headers: ADMIN, payload })
  const active = await evaluate({ contact: { outstanding_receivable_amount_bcy: 62400 }, explain: true })
  t.equal(active.statusCode, 200)
  t.match(active.json(), {
    decision: 'block',
    facts: { outstanding_bcy: 62400, status: 'active' },
    rules_version: (await status()).version,
  })
  t.same(active.json().reasons, [
    {
      rule: 'outstanding-over-50000',
      code: 'OUTSTANDING_OVER_LIMIT',
      severity: 'block',
      message: 'Outstanding receivables 62,400.00 exceed 50,000.00',
    },
  ])
  const trace = active.json().trace.find((r: { rule: string }) => r.rule === 'outstanding-over-50000')
  t.equal(trace?.conditions.length, 1, 'the rule has one condition')
  t.match(trace, {
    fired: true,
    file: 'outstanding-over-50000.json',
    conditions: [
      {
        at: 'all[0]',
        fact: 'outstanding_bcy',
        operator: 'greaterThan',
        value: 50000,
        fact_value: 62400,
        result: true,
        text: 'outstanding_bcy (62,400.00) greaterThan 50,000.00 → true',
      },
    ],
  })

  const candidate = await evaluate({
    contact: { outstanding_receivable_amount_bcy: 100 },
    order: { amount: 20000 },
    rules: [{ file: 'large.json', content: reviewRule(10000) }],
  })
  t.equal(candidate.json().decision, 'review')
  t.same(
    candidate.json().reasons.map((r: { code: string }) => r.code),
    ['LARGE_ORDER'],
  )
  t.not(candidate.json().rules_version, (await status()).version)

  const invalid = await evaluate({ contact: {}, rules: [{ file: 'x.json', content: { name: 'x' } }] })
  t.match(problem(t, invalid, 422, 'invalid_rules').detail, /x\.json \$\.conditions/)
  problem(t, await evaluate({ contact: { outstanding_receivable_amount_bcy: '' } }), 400, 'invalid_request')
  problem(t, await app.inject({ method: 'POST', url: '/risk/evaluate', headers: CALLER, payload: { contact: {} } }), 403, 'forbidden')
  t.equal(sandbox.stats.contactCalls + sandbox.stats.tokenCalls, 0, 'Zoho was never asked')
})

// Issue 13, finding 15 (failed before its fix).
t.test('amounts are bounded: every computed fact stays a finite number', async (t) => {
  const { app } = await rulesApp(t, await rulesCopy(t))
  const evaluate = (contact: Record<string, unknown>, amount: number) =>
    app.inject({ method: 'POST', url: '/risk/evaluate', headers: ADMIN, payload: { contact, order: { amount } } })
  const huge = await evaluate({ outstanding_receivable_amount_bcy: 1e308 }, 1e15)
  t.match(problem(t, huge, 400, 'invalid_request').detail, /outstanding_receivable_amount_bcy/)
  const largest = await evaluate({ outstanding_receivable_amount_bcy: 1e15, credit_limit: 1e15 }, 1e15)
  t.equal(largest.statusCode, 200)
  t.equal(largest.json().facts.exposure_bcy, 2e15)
})
