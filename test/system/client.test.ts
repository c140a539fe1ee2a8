import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { creditChecks } from '../../src/client/example.js'
import { createCreditgateClient } from '../../src/client/index.js'
import { ORG2, startApp, startSandbox } from '../helpers/app.js'

const KEY = 'shop-key-0123456789abcdef'

t.test('src/client/schema.ts is what openapi-typescript generates from openapi/openapi.json (npm run client)', async (t) => {
  const out = join(t.testdir({}), 'schema.ts')
  const run = spawnSync('node_modules/.bin/openapi-typescript', ['openapi/openapi.json', '-o', out], { encoding: 'utf8' })
  t.equal(run.status, 0, run.stderr)
  t.equal(await readFile(out, 'utf8'), await readFile('src/client/schema.ts', 'utf8'))
})

t.test('the generated client talks to the running service', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: `shop:${KEY}` } })
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const client = createCreditgateClient({ baseUrl, apiKey: KEY })

  const block = await client.GET('/contacts/{contact_id}/risk', {
    params: { path: { contact_id: '460000000026049' }, query: { order_amount: '1000', explain: 'true' } },
  })
  t.equal(block.response.status, 200)
  t.equal(block.data?.decision, 'block')
  t.same(
    block.data?.reasons.map((r) => r.code),
    ['OUTSTANDING_OVER_LIMIT'],
  )
  t.equal(block.data?.facts?.exposure_bcy, 63400)
  t.equal(block.data?.trace?.length, 11)

  const other = await client.POST('/contacts/{contact_id}/risk', {
    params: { path: { contact_id: '470000000010001' } },
    body: { organization_id: ORG2, order: { amount: 100, reference: 'SO-7' } },
  })
  t.equal(other.data?.decision, 'allow')

  const missing = await client.GET('/contacts/{contact_id}/risk', { params: { path: { contact_id: '460000000099999' } } })
  t.equal(missing.response.status, 404)
  t.equal(missing.error?.code, 'contact_not_found')
  t.equal(missing.error?.type, '/problems/contact_not_found')

  const rules = await client.GET('/rules')
  t.equal(rules.data?.rules.length, 11)

  const wrongKey = createCreditgateClient({ baseUrl, apiKey: 'not-the-key-0123456789' })
  t.equal((await wrongKey.GET('/rules')).error?.code, 'unauthorized')
})

t.test("the README's order-system example works as written", async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: `shop:${KEY}` } })
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const checkOrder = creditChecks(baseUrl, KEY)
  const credits = await checkOrder('460000000031002', 2500, 'SO-1')
  t.match(credits, { accept: true, hold: false, decisionId: /^[0-9a-f-]{36}$/ })
  t.same(credits.notes, ['1,369.66 of unused credits: apply them before asking for payment'])
  const limited = await checkOrder('460000000031004', 6000, 'SO-2')
  t.match(limited, { accept: false, hold: false })
  t.equal(limited.notes.length, 2, 'the block, and the alert that the limit is over 80 % used')
  t.match(limited.notes[0], /exceeds the credit limit of 40,000.00/)
  t.match(limited.notes[1], /uses 1.1 of the credit limit 40,000.00/)
  const missing = await checkOrder('460000000099999', 1, 'SO-3')
  t.match(missing, { accept: false, hold: true })
  t.equal(missing.notes.length, 1)
  t.match(missing.notes[0], /^contact_not_found: /)
  const readme = await readFile('README.md', 'utf8')
  const example = await readFile('src/client/example.ts', 'utf8')
  t.ok(readme.includes(example.trim()), 'README.md shows src/client/example.ts as it is')
})
