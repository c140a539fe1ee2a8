import { spawn, spawnSync } from 'node:child_process'
import { cp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { JSON_SCHEMAS, jsonSchemaText } from '../../src/cli/rules.js'
import { compileRuleSet } from '../../src/rules/rule-set.js'
import { eventually, problem, SHIPPED_RULES, startApp, startSandbox } from '../helpers/app.js'

const ADMIN = { 'x-api-key': 'ops-key-0123456789abcdef' }
const CALLER = { 'x-api-key': 'shop-key-0123456789abcdef' }
const KEYS = { API_KEYS: 'shop:shop-key-0123456789abcdef', ADMIN_API_KEYS: 'ops:ops-key-0123456789abcdef' }

const reviewRule = (threshold: number) => ({
  name: 'large-order-review',
  conditions: { all: [{ fact: 'order_amount', operator: 'greaterThan', value: threshold }] },
  event: { type: 'review', params: { code: 'LARGE_ORDER', message: 'Order {{order_amount}} needs a second look' } },
})

/** A copy of the shipped rules (without fixtures unless asked) that a test may edit. */
async function rulesCopy(t: Test, withFixtures = false): Promise<string> {
  const dir = t.testdir({})
  await cp('rules', dir, { recursive: true })
  if (!withFixtures) await rm(join(dir, 'tests'), { recursive: true })
  return dir
}

async function rulesApp(t: Test, dir: string) {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, ...KEYS } })
  const status = async () => (await app.inject({ url: '/rules', headers: CALLER })).json()
  return { app, sandbox, status }
}

t.test('hot reload: create, modify, rename and delete each go live with a new version', async (t) => {
  const dir = await rulesCopy(t)
  const { app, status } = await rulesApp(t, dir)
  const v0 = (await status()).version
  const decide = async () => (await app.inject({ url: '/contacts/460000000031001/risk?order_amount=20000', headers: CALLER })).json()
  t.equal((await decide()).decision, 'allow')

  await writeFile(join(dir, 'large-order-review.json'), JSON.stringify(reviewRule(10000)))
  await eventually(async () => (await status()).version !== v0, 'the new rule to go live')
  const created = await status()
  t.ok(created.rules.some((r: { file: string }) => r.file === 'large-order-review.json'))
  const review = await decide()
  t.match(review, { decision: 'review', rules_version: created.version })
  t.same(review.reasons, [
    { rule: 'large-order-review', code: 'LARGE_ORDER', severity: 'review', message: 'Order 20,000.00 needs a second look' },
  ])

  await writeFile(join(dir, 'large-order-review.json'), JSON.stringify(reviewRule(25000), null, 2))
  await eventually(async () => (await status()).version !== created.version, 'the modified rule to go live')
  t.equal((await decide()).decision, 'allow', 'the new threshold applies')
  const modified = (await status()).version

  await rename(join(dir, 'large-order-review.json'), join(dir, 'big-orders.json'))
  await eventually(async () => (await status()).version !== modified, 'the rename to go live')
  t.same(
    (await status()).rules.map((r: { file: string }) => r.file),
    [
      'apply-unused-credits.json',
      'big-orders.json',
      'credit-limit-exceeded.json',
      'credit-limit-expired.json',
      'credit-review-overdue.json',
      'inactive-contact.json',
      'manual-credit-hold.json',
      'outstanding-over-50000.json',
      'overdue-over-30-days.json',
      'overdue-over-90-days.json',
      'pays-late.json',
      'utilization-over-80.json',
    ],
  )

  await rm(join(dir, 'big-orders.json'))
  await eventually(async () => (await status()).version === v0, 'the deletion to go live')
  t.equal((await status()).rules.length, 11)
  t.equal((await status()).last_error, null)
})

t.test('a broken change keeps the last good set and says what is wrong', async (t) => {
  const dir = await rulesCopy(t, true)
  const { app, status } = await rulesApp(t, dir)
  const good = (await status()).version
  const waitForError = async (what: string) => {
    await eventually(async () => (await status()).last_error !== null, what)
    const s = await status()
    t.equal(s.version, good, 'the last good set stays active')
    const decision = (await app.inject({ url: '/contacts/460000000026049/risk', headers: CALLER })).json()
    t.match(decision, { decision: 'block', rules_version: good }, 'decisions go on with it')
    t.match((await app.inject({ url: '/readyz' })).json(), { status: 'degraded', checks: { rules: { ok: true, degraded: true } } })
    return s.last_error
  }
  const original = await readFile(join(dir, 'outstanding-over-50000.json'), 'utf8')

  await writeFile(join(dir, 'outstanding-over-50000.json'), original.replace('"priority": 10,', '"priority": 10'))
  const broken = await waitForError('the broken JSON to be reported')
  t.equal(broken.errors.length, 1)
  t.match(broken.errors[0], { file: 'outstanding-over-50000.json', path: '$', message: /not valid JSON: .*line 6/ })

  await writeFile(join(dir, 'outstanding-over-50000.json'), original.replace('"outstanding_bcy"', '"outstanding_bsy"'))
  await eventually(async () => (await status()).last_error?.errors[0]?.message.includes('outstanding_bsy'), 'the unknown fact')
  const unknownFact = await waitForError('unknown fact')
  t.equal(unknownFact.errors.length, 1)
  t.match(unknownFact.errors[0], {
    file: 'outstanding-over-50000.json',
    path: '$.conditions.all[0].fact',
    message: /unknown fact "outstanding_bsy"/,
  })

  // A valid rule whose new threshold breaks the edge the fixtures pin down.
  await writeFile(join(dir, 'outstanding-over-50000.json'), original.replace('"value": 50000', '"value": 60000'))
  await eventually(async () => (await status()).last_error?.errors[0]?.file.startsWith('tests/'), 'the failing fixture')
  const failing = await waitForError('failing fixture')
  t.same(failing.errors, [
    {
      file: 'tests/outstanding-over-50000.json',
      path: 'case "50,000.01 is over"',
      message: 'decision allow, expected block; reasons [], expected [OUTSTANDING_OVER_LIMIT]',
    },
  ])

  await writeFile(join(dir, 'outstanding-over-50000.json'), original)
  await eventually(async () => (await status()).last_error === null, 'the fix to clear the error')
  t.equal((await status()).version, good)
})

t.test('POST /rules/reload forces a reload (admin only)', async (t) => {
  const dir = await rulesCopy(t)
  const { app, status } = await rulesApp(t, dir)
  const before = (await status()).version
  problem(t, await app.inject({ method: 'POST', url: '/rules/reload', headers: CALLER }), 403, 'forbidden')
  await writeFile(join(dir, 'large-order-review.json'), JSON.stringify(reviewRule(10000)))
  const res = await app.inject({ method: 'POST', url: '/rules/reload', headers: ADMIN })
  t.equal(res.statusCode, 200)
  t.equal(res.json().result, 'activated')
  t.not(res.json().version, before)
  await writeFile(join(dir, 'large-order-review.json'), '{')
  const rejected = (await app.inject({ method: 'POST', url: '/rules/reload', headers: ADMIN })).json()
  t.match(rejected, { result: 'rejected', version: res.json().version })
  t.same(
    rejected.errors.map((e: { file: string }) => e.file),
    ['large-order-review.json'],
  )
})

t.test('requests in flight during a swap complete, each with one consistent version', async (t) => {
  const dir = await rulesCopy(t)
  const { app, sandbox, status } = await rulesApp(t, dir)
  const before = (await status()).version
  sandbox.faults.latencyMs = 150
  const inFlight = Array.from({ length: 40 }, (_, i) =>
    app.inject({ url: `/contacts/46000000003100${(i % 6) + 1}/risk?order_amount=20000`, headers: CALLER }),
  )
  await writeFile(join(dir, 'large-order-review.json'), JSON.stringify(reviewRule(10000)))
  const swap = (await app.inject({ method: 'POST', url: '/rules/reload', headers: ADMIN })).json()
  t.equal(swap.result, 'activated')
  const answers = (await Promise.all(inFlight)).map((r) => r.json())
  t.equal(answers.length, 40)
  for (const a of answers) {
    const hasNewRule = a.reasons.some((r: { code: string }) => r.code === 'LARGE_ORDER')
    if (a.rules_version === before) t.notOk(hasNewRule, 'old version, old rules')
    else if (a.rules_version === swap.version) t.ok(hasNewRule, 'new version, new rules')
    else t.fail(`unknown version ${a.rules_version}`)
  }
  t.ok(
    answers.some((a) => a.rules_version === before),
    'requests that started before the swap finished on the set they started with',
  )
  const after = (await app.inject({ url: '/contacts/460000000031001/risk?order_amount=20000', headers: CALLER })).json()
  t.equal(after.rules_version, swap.version)
})

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

t.test('validation speaks to operators', async (t) => {
  const base = reviewRule(1)
  const cases: [string, unknown, RegExp, string][] = [
    [
      'unknown fact',
      { ...base, conditions: { all: [{ fact: 'outstandng_bcy', operator: 'greaterThan', value: 1 }] } },
      /unknown fact "outstandng_bcy"/,
      '$.conditions.all[0].fact',
    ],
    [
      'unknown path',
      { ...base, conditions: { all: [{ fact: 'contact', path: '$.payment_trems', operator: 'equal', value: 30 }] } },
      /unknown contact field "payment_trems"/,
      '$.conditions.all[0].path',
    ],
    [
      'an object fact without a path',
      { ...base, conditions: { all: [{ fact: 'contact', operator: 'equal', value: 1 }] } },
      /add a "path"/,
      '$.conditions.all[0].fact',
    ],
    [
      'a path on a single value',
      { ...base, conditions: { all: [{ fact: 'status', path: '$.x', operator: 'equal', value: 'x' }] } },
      /takes no "path"/,
      '$.conditions.all[0].path',
    ],
    [
      'unknown operator',
      { ...base, conditions: { all: [{ fact: 'status', operator: 'equals', value: 'inactive' }] } },
      /unknown operator "equals"/,
      '$.conditions.all[0].operator',
    ],
    [
      'a quoted number',
      { ...base, conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: '50,000' }] } },
      /needs a number/,
      '$.conditions.all[0].value',
    ],
    [
      'a number for a text fact',
      { ...base, conditions: { all: [{ fact: 'status', operator: 'equal', value: 1 }] } },
      /"status" is a string, but the value is a number/,
      '$.conditions.all[0].value',
    ],
    [
      'greaterThan on text',
      { ...base, conditions: { all: [{ fact: 'status', operator: 'greaterThan', value: 1 }] } },
      /compares numbers/,
      '$.conditions.all[0].operator',
    ],
    [
      'in without a list',
      { ...base, conditions: { all: [{ fact: 'status', operator: 'in', value: 'active' }] } },
      /needs a list/,
      '$.conditions.all[0].value',
    ],
    [
      'nested deep',
      { ...base, conditions: { any: [{ not: { all: [{ fact: 'nope', operator: 'equal', value: 1 }] } }] } },
      /unknown fact "nope"/,
      '$.conditions.any[0].not.all[0].fact',
    ],
    [
      'unknown event type',
      { ...base, event: { type: 'deny', params: { code: 'X1', message: 'm' } } },
      /unknown event type "deny"/,
      '$.event.type',
    ],
    ['missing code', { ...base, event: { type: 'block', params: { message: 'm' } } }, /expected string/, '$.event.params.code'],
    ['missing message', { ...base, event: { type: 'block', params: { code: 'X1' } } }, /expected string/, '$.event.params.message'],
    [
      'a message quoting an unknown fact',
      { ...base, event: { type: 'block', params: { code: 'X1', message: '{{balance}}' } } },
      /\{\{balance\}\} is not a fact/,
      '$.event.params.message',
    ],
    ['an unknown key', { ...base, conditons: {} }, /unknown key "conditons"/, '$'],
    ['an empty condition list', { ...base, conditions: { all: [] } }, /too small|>=1/i, '$.conditions.all'],
  ]
  for (const [what, content, message, path] of cases) {
    const compiled = compileRuleSet([{ file: 'r.json', content }])
    t.notOk(compiled.ok, what)
    if (compiled.ok) continue
    t.equal(compiled.errors.length, 1, `${what}: one error`)
    t.match(compiled.errors[0], { file: 'r.json', path, message }, what)
  }
  const dupes = compileRuleSet([
    { file: 'a.json', content: base },
    { file: 'b.json', content: base },
  ])
  t.same(dupes, {
    ok: false,
    errors: [{ file: 'b.json', path: '$.name', message: 'rule name "large-order-review" is also used by a.json' }],
  })
  const empty = compileRuleSet([])
  t.equal(empty.ok, false)
  if (!empty.ok) {
    t.equal(empty.errors.length, 1)
    t.match(empty.errors[0], { message: /empty set would allow every order/ })
  }
})

t.test('the published JSON Schemas match the zod schemas (npm run rules:schema)', async (t) => {
  for (const [file, schema] of Object.entries(JSON_SCHEMAS)) {
    t.equal(await readFile(join('rules', file), 'utf8'), jsonSchemaText(schema), `rules/${file} is up to date`)
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

t.test('SIGHUP reloads the rules of a running server', async (t) => {
  const dir = await rulesCopy(t)
  const child = spawn(process.execPath, ['dist/server.js'], { env: { ...process.env, RULES_DIR: dir, PORT: '0', LOG_LEVEL: 'info' } })
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  await eventually(() => output.includes('Server listening'), 'the server to start', 20_000)
  child.kill('SIGHUP')
  await eventually(() => output.includes('"msg":"rules unchanged"'), 'the reload after SIGHUP')
  t.match(output, /"trigger":"SIGHUP"/)
})
