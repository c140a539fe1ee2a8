import { spawn, spawnSync } from 'node:child_process'
import { readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { eventually, problem } from '../helpers/app.js'
import { deepRule, reviewRule, ruleFile } from '../helpers/rules.js'
import { ADMIN, CALLER, rejected, rulesApp, rulesCopy } from '../helpers/rules-folder.js'

/**
 * Loading the rules folder: at start-up, on a change (the watcher), on POST /rules/reload and on
 * SIGHUP. A change goes live with a new version, requests in flight keep the one they began with;
 * a broken or hostile change (too deep, too large, a link out of the folder) is refused and the
 * last good set stays. (A swap while Zoho is slow: rules-hot-swap.test.ts.)
 */

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

// Issue 13, finding 1 (failed before its fix).
t.test('a rule file nested 1,500 deep is refused by a running service, which keeps deciding', async (t) => {
  const dir = await rulesCopy(t)
  const { app, status } = await rulesApp(t, dir)
  const good = (await status()).version
  await writeFile(join(dir, 'deep.json'), JSON.stringify(deepRule(1500)))
  const errors = await rejected(t, app)
  t.same(errors, [{ file: 'deep.json', path: errors[0]?.path, message: 'nested deeper than 24 levels' }])
  t.equal((await status()).version, good)
  t.equal((await app.inject({ url: '/contacts/460000000026049/risk', headers: CALLER })).json().decision, 'block')
})

// Issue 13, finding 1 (failed before its fix).
t.test('a rule file nested 1,500 deep stops start-up with one readable line, not a stack overflow', async (t) => {
  const dir = await rulesCopy(t)
  await writeFile(join(dir, 'deep.json'), JSON.stringify(deepRule(1500)))
  const run = spawnSync(process.execPath, ['dist/server.js'], { env: { ...process.env, RULES_DIR: dir, PORT: '0' }, encoding: 'utf8' })
  t.equal(run.status, 1)
  t.match(run.stderr, /deep\.json \$\.conditions\.all\[0\](\.not)+: nested deeper than 24 levels/)
  t.notMatch(run.stderr, /Maximum call stack|RangeError|at /)
})

// Issue 13, finding 9 (failed before its fix).
t.test('a 50 MB rule file is refused without being read', async (t) => {
  const dir = await rulesCopy(t)
  const { app, status } = await rulesApp(t, dir)
  const big = ruleFile('big', 1)
  await writeFile(join(dir, 'big.json'), JSON.stringify({ ...big, description: 'x'.repeat(50 * 1024 * 1024) }))
  const errors = await rejected(t, app)
  t.same(errors, [{ file: 'big.json', path: '$', message: 'is 51201 KB; at most 64 KB' }])
  const body = (await app.inject({ url: '/rules', headers: CALLER })).body
  t.ok(body.length < 20_000, `GET /rules answers ${body.length} bytes`)
  t.equal((await status()).rules.length, 11)
})

// Issue 13, finding 10 (failed before its fix).
t.test('links out of the rules folder are refused, without quoting or locating the target; removing one is noticed', async (t) => {
  const dir = await rulesCopy(t)
  const { app, status } = await rulesApp(t, dir)
  await symlink('/etc/passwd', join(dir, 'passwd.json'))
  let errors = await rejected(t, app)
  t.same(errors, [{ file: 'passwd.json', path: '$', message: 'is a link to a file outside the rules folder: refused' }])
  const shown = JSON.stringify((await status()).last_error)
  t.notMatch(shown, /root:|\/etc\/|\/work\/|\.tap\//, 'neither the file’s text nor an absolute path')
  await rm(join(dir, 'passwd.json'))
  await symlink(join(dir, 'missing.json'), join(dir, 'dangling.json'))
  errors = await rejected(t, app)
  t.same(errors, [{ file: 'dangling.json', path: '$', message: 'is a link to a file that does not exist' }])
  await rm(join(dir, 'dangling.json'))
  await eventually(async () => (await status()).last_error === null, 'the removal to be noticed by the watcher')
  // A link inside the folder (as Kubernetes mounts ConfigMaps) is a rule like any other.
  await writeFile(join(dir, '.data-review.json'), JSON.stringify(ruleFile('linked-review', 100_000)))
  await symlink(join(dir, '.data-review.json'), join(dir, 'linked-review.json'))
  t.equal((await app.rules.reload('test')).result, 'activated')
})
