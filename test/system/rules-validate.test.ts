import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { MAX_FIXTURE_CASES } from '../../src/services/rule-sets/fixtures.js'
import { problem, SHIPPED_RULES } from '../helpers/app.js'
import { deepRule, reviewRule, ruleFile } from '../helpers/rules.js'
import { ADMIN, CALLER, rulesApp, rulesCopy } from '../helpers/rules-folder.js'
import { longestStall, STALL_MS } from '../helpers/stall.js'

/**
 * Checking a candidate rule set without activating it: POST /rules/validate (in a worker, off
 * the event loop) and the command line's rules:check and rules:test.
 */

t.test('POST /rules/validate checks a candidate set and activates nothing', async (t) => {
  const dir = await rulesCopy(t, true)
  const { app, status } = await rulesApp(t, dir)
  const before = (await status()).version
  const shipped = await Promise.all(
    SHIPPED_RULES.map(async (name) => ({
      file: `${name}.json`,
      content: JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')),
    })),
  )
  const validate = (payload: Record<string, unknown>, headers = ADMIN) =>
    app.inject({ method: 'POST', url: '/rules/validate', headers, payload })

  const ok = (await validate({ rules: [...shipped, { file: 'large.json', content: reviewRule(100000) }] })).json()
  t.match(ok, { valid: true, version: /^sha256:/, fixtures: { passed: 49 } })
  t.same(ok.errors, [])
  t.same(ok.fixtures.failures, [])

  const bad = (
    await validate({
      rules: [
        ...shipped,
        { file: 'typo.json', content: '{"name": "typo",' },
        { file: 'dupe.json', content: { ...reviewRule(1), name: 'inactive-contact' } },
      ],
    })
  ).json()
  t.equal(bad.valid, false)
  t.equal(bad.errors.length, 2)
  t.match(bad.errors, [
    { file: 'typo.json', path: '$', message: /not valid JSON/ },
    { file: 'dupe.json', path: '$.name', message: /also used by inactive-contact.json/ },
  ])

  const failing = (await validate({ rules: [...shipped, { file: 'review-all.json', content: reviewRule(-1) }] })).json()
  t.equal(failing.valid, false, 'a set that breaks the fixtures would not go live')
  t.equal(failing.fixtures.failures.length, 49, 'a rule that reviews every order fails every fixture')
  t.equal(failing.fixtures.passed, 0)
  t.equal(failing.errors.length, failing.fixtures.failures.length, 'each failing fixture is an error')
  t.match(failing.errors[0], { file: /^tests\//, message: /decision review, expected allow/ })

  problem(t, await validate({ rules: shipped }, CALLER), 403, 'forbidden')
  problem(t, await validate({ rules: 'nope' }), 400, 'invalid_request')
  t.equal((await status()).version, before, 'nothing was activated')
})

// Issue 13, finding 2 (failed before its fix).
t.test('a rule nested 1,500 deep posted: /rules/validate says invalid, /risk/evaluate answers 422', async (t) => {
  const { app } = await rulesApp(t, await rulesCopy(t))
  const rules = [{ file: 'deep.json', content: deepRule(1500) }]
  const validate = await app.inject({ method: 'POST', url: '/rules/validate', headers: ADMIN, payload: { rules } })
  t.equal(validate.statusCode, 200)
  t.equal(validate.json().valid, false)
  t.equal(validate.json().errors.length, 1)
  t.match(validate.json().errors[0].message, /nested deeper than 24 levels/)
  const evaluate = await app.inject({ method: 'POST', url: '/risk/evaluate', headers: ADMIN, payload: { contact: {}, rules } })
  t.match(problem(t, evaluate, 422, 'invalid_rules').detail, /nested deeper than 24 levels/)
})

// Issue 13, finding 6 (failed before its fix).
t.test('a large set with many fixture cases is checked off the event loop', async (t) => {
  const { app } = await rulesApp(t, await rulesCopy(t))
  const rules = Array.from({ length: 200 }, (_, i) => ({ file: `r${i}.json`, content: ruleFile(`r-${i}`, 1000 * i) }))
  const cases = Array.from({ length: MAX_FIXTURE_CASES }, (_, i) => ({
    name: `case ${i}`,
    contact: { outstanding_receivable_amount_bcy: 0 },
    expect: { decision: 'allow' },
  }))
  const fixtures = [{ file: 'many.json', content: { cases } }]
  // The validation runs off the event loop: /healthz keeps answering, and the loop is never held.
  const { result: validated, stallMs } = await longestStall(async () => {
    const validating = app.inject({ method: 'POST', url: '/rules/validate', headers: ADMIN, payload: { rules, fixtures } })
    let done = false
    void validating.then(() => {
      done = true
    })
    while (!done) {
      t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return validating
  })
  const result = validated.json()
  t.equal(result.fixtures.passed, MAX_FIXTURE_CASES, `${MAX_FIXTURE_CASES} cases × 200 rules checked`)
  t.ok(stallMs < STALL_MS, `the event loop was never held longer than ${Math.round(stallMs)} ms meanwhile`)
  const tooMany = await app.inject({
    method: 'POST',
    url: '/rules/validate',
    headers: ADMIN,
    payload: { rules, fixtures: [...fixtures, { file: 'more.json', content: { cases: cases.slice(0, 1) } }] },
  })
  t.same(
    tooMany.json().fixtures.failures.map((f: { file: string; message: string }) => [f.file, f.message]),
    [['tests/more.json', `more than ${MAX_FIXTURE_CASES} cases in the set's fixture files`]],
  )
})

// Issue 13, finding 11 (failed before its fix).
t.test('message placeholders are facts of the catalogue, not object properties', async (t) => {
  const { app } = await rulesApp(t, await rulesCopy(t))
  for (const placeholder of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const content = { ...ruleFile('odd', 1), event: { type: 'alert', params: { code: 'ODD', message: `{{${placeholder}}}` } } }
    const res = await app.inject({
      method: 'POST',
      url: '/rules/validate',
      headers: ADMIN,
      payload: { rules: [{ file: 'odd.json', content }] },
    })
    t.same(res.json().errors, [
      { file: 'odd.json', path: '$.event.params.message', message: `{{${placeholder}}} is not a fact the message can quote` },
    ])
  }
})

t.test('the command line: rules:check and rules:test exit 1 on failure', async (t) => {
  const run = (command: string, dir: string) => spawnSync(process.execPath, ['dist/cli/rules.js', command, dir], { encoding: 'utf8' })
  const good = run('check', 'rules')
  t.equal(good.status, 0)
  t.match(good.stdout, /✓ outstanding-over-50000\.json {2}block OUTSTANDING_OVER_LIMIT/)
  t.match(good.stdout, /11 rules OK, version sha256:/)
  const tested = run('test', 'rules')
  t.equal(tested.status, 0)
  t.match(tested.stdout, /49 passed, 0 failed\n$/)

  const dir = await rulesCopy(t, true)
  await writeFile(
    join(dir, 'outstanding-over-50000.json'),
    (await readFile(join(dir, 'outstanding-over-50000.json'), 'utf8')).replace('"value": 50000', '"value": 60000'),
  )
  const failing = run('test', dir)
  t.equal(failing.status, 1)
  t.match(failing.stdout, /✗ tests\/outstanding-over-50000\.json "50,000\.01 is over": decision allow, expected block/)
  t.match(failing.stdout, /48 passed, 1 failed: the rules would not go live/)
  t.equal(run('check', dir).status, 0, 'the rules themselves are valid')

  await writeFile(join(dir, 'broken.json'), '{"name": ')
  const broken = run('check', dir)
  t.equal(broken.status, 1)
  t.match(broken.stdout, /✗ broken\.json \$: not valid JSON/)
  t.match(broken.stdout, /1 error\(s\) in .*: nothing would go live/)
  t.equal(run('test', dir).status, 1)
})
