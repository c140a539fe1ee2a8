import { cp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { zohoContact } from '../../src/sandbox/example-contact.js'
import { eventually, ORG, startApp, startSandbox } from '../helpers/app.js'

/** A rules swap while Zoho is slow: each decision is made under the rules it began with. */
t.test('a decision that began under the old rules is decided under them, one begun after the swap under the new ones', async (t) => {
  // Ten uncached contacts owing 40,500–44,550: allowed under the shipped rules (block over
  // 50,000), blocked once the threshold is lowered to 40,000. For each, one decision (order 100)
  // reads the old rules and waits on Zoho; the new rules go live; a second decision (order 200)
  // reads them and waits on the same Zoho call. Zoho answers both at once.
  const dir = t.testdir({})
  await cp('rules', dir, { recursive: true })
  await rm(join(dir, 'tests'), { recursive: true })
  // Without the payment-facts rule: its first pass would need a Zoho call while every one is held.
  await rm(join(dir, 'pays-late.json'))
  const sandbox = await startSandbox(t)
  const contacts = sandbox.organizations.get(ORG) as Map<string, Record<string, unknown>>
  const ids = Array.from({ length: 10 }, (_, i) => {
    const id = `4900000000${String(i).padStart(5, '0')}`
    contacts.set(id, zohoContact(id, `Customer ${i}`, { outstanding_receivable_amount_bcy: 40_500 + i * 450 }))
    return id
  })
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, ZOHO_MAX_CONCURRENCY: '10' } })
  const decide = async (id: string, amount: number) => (await app.inject({ url: `/contacts/${id}/risk?order_amount=${amount}` })).json()
  const oldVersion = app.rules.current().version

  const release = sandbox.hold()
  const underOld = ids.map((id) => decide(id, 100))
  await eventually(() => sandbox.stats.contactCalls === ids.length, 'every decision to wait on Zoho')
  const file = join(dir, 'outstanding-over-50000.json')
  await writeFile(file, (await readFile(file, 'utf8')).replace('"value": 50000', '"value": 40000'))
  t.equal((await app.rules.reload('test')).result, 'activated')
  const newVersion = app.rules.current().version
  const underNew = ids.map((id) => decide(id, 200))
  release()

  t.same(
    (await Promise.all(underOld)).map((d) => [d.decision, d.rules_version]),
    ids.map(() => ['allow', oldVersion]),
    'decided under the rules they began with',
  )
  t.same(
    (await Promise.all(underNew)).map((d) => [d.decision, d.rules_version]),
    ids.map(() => ['block', newVersion]),
  )
  t.equal(sandbox.stats.contactCalls, ids.length, 'one Zoho call per contact')
  const again = await Promise.all(ids.map((id) => decide(id, 100)))
  t.same(
    again.map((d) => [d.decision, d.rules_version]),
    ids.map(() => ['block', newVersion]),
    'asked again with order 100, each is decided under the new rules',
  )
})
