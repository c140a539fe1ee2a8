import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { openApiDocument } from '../../src/cli/openapi.js'
import { PROBLEMS, problemType } from '../../src/errors.js'
import { startApp, startSandbox } from '../helpers/app.js'

t.test('openapi/openapi.json is what the routes generate (run npm run openapi after changing them)', async (t) => {
  const committed = await readFile('openapi/openapi.json', 'utf8')
  const generated = await openApiDocument()
  t.equal(generated, committed, 'openapi/openapi.json drifted from the routes: run `npm run openapi`')
})

t.test('the running service serves the same document and Swagger UI', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  const committed = JSON.parse(await readFile('openapi/openapi.json', 'utf8'))
  const served = await app.inject({ url: '/docs/json' })
  t.equal(served.statusCode, 200)
  t.same(served.json(), committed)
  const ui = await app.inject({ url: '/docs/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /text\/html/)
  t.match(ui.body, /swagger-ui/)
  const risk = committed.paths['/contacts/{contact_id}/risk']
  t.same(Object.keys(risk.get.responses['200'].content['application/json'].examples).sort(), [
    'alert',
    'allow',
    'block',
    'overdue',
    'review',
  ])
  // Only a POST carries an order reference: only a POST can be released, and an allowed one holds its amount.
  t.same(Object.keys(risk.post.responses['200'].content['application/json'].examples).sort(), [
    'alert',
    'allow',
    'block',
    'held',
    'overdue',
    'released',
    'reserved',
    'review',
  ])
  t.same(Object.keys(risk.get.responses['404'].content['application/problem+json'].examples).sort(), ['contact_not_found', 'not_found'])
})

t.test('the contract passes the linter (redocly.yaml) with no error or warning', async (t) => {
  const run = spawnSync('node_modules/.bin/redocly', ['lint', 'openapi/openapi.json', '--format=stylish'], {
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  })
  t.equal(run.status, 0, run.stdout + run.stderr)
  t.match(run.stdout + run.stderr, /Your API description is valid/)
  t.notMatch(run.stdout + run.stderr, /\d+ warnings?\b/)
})

t.test('every operation is documented the same way', async (t) => {
  const doc = JSON.parse(await readFile('openapi/openapi.json', 'utf8'))
  for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [method, op] of Object.entries(operations)) {
      const where = `${method.toUpperCase()} ${path}`
      for (const key of ['operationId', 'summary', 'description', 'tags', 'security']) t.ok(op[key] !== undefined, `${where} has ${key}`)
      for (const param of (op.parameters as { name: string; schema: { type: string; pattern?: string } }[] | undefined) ?? []) {
        if (param.name === 'contact_id')
          t.same(
            param.schema,
            { type: 'string', pattern: '^[1-9]\\d{0,18}$', example: '460000000026049' },
            `${where} contact_id is a digit string without a leading zero`,
          )
      }
    }
  }
})

t.test('every problem type is a page that explains it', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: 'shop:shop-key-0123456789abcdef' } })
  const index = await app.inject({ url: '/problems' })
  t.equal(index.statusCode, 200)
  t.match(index.headers['content-type'], /^text\/html/)
  for (const [code, problem] of Object.entries(PROBLEMS)) {
    t.match(index.body, `href="/problems/${code}"`)
    const res = await app.inject({ url: problemType(code as keyof typeof PROBLEMS) })
    t.equal(res.statusCode, 200, code)
    t.match(res.body, `<h1>${problem.title}</h1>`)
    t.match(res.body, /Why it happens/)
    t.match(res.body, /What to do/)
  }
  t.match((await app.inject({ url: '/problems/upstream_unavailable' })).body, /Retry-After/)
  const unknown = await app.inject({ url: '/problems/nope' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().type, '/problems/not_found')
  // A problem in the wild links to its page.
  const refused = await app.inject({ url: '/contacts/460000000031001/risk' })
  t.equal((await app.inject({ url: refused.json().type })).statusCode, 200)
})
