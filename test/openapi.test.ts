import { readFile } from 'node:fs/promises'
import t from 'tap'
import { openApiDocument } from '../src/cli/openapi.js'
import { startApp, startSandbox } from './helpers/app.js'

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
  t.same(Object.keys(risk.get.responses['200'].content['application/json'].examples).sort(), ['alert', 'allow', 'block', 'review'])
  t.same(Object.keys(risk.get.responses['404'].content['application/problem+json'].examples).sort(), ['contact_not_found', 'not_found'])
})
