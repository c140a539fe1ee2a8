import { spawn } from 'node:child_process'
import { cp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { eventually, ORG, sandboxEnv, startApp, startSandbox } from '../helpers/app.js'
import { STALL_MS, serverStall } from '../helpers/stall.js'

/**
 * Schema-driven fuzzing: every operation of the OpenAPI document gets malformed path parameters,
 * query parameters, bodies and content types. Every answer must be a 4xx problem+json, Zoho must
 * never be called, and the service must stay healthy and keep deciding correctly.
 */

type Schema = {
  type?: string | string[]
  $ref?: string
  properties?: Record<string, Schema>
  anyOf?: Schema[]
  additionalProperties?: unknown
  pattern?: string
  enum?: unknown[]
}
type Request = { method: string; url: string; payload?: string; headers?: Record<string, string> }
type Parameter = { in: 'path' | 'query'; name: string; schema: Schema }
type Operation = {
  operationId: string
  parameters?: Parameter[]
  requestBody?: { content: Record<string, { schema: Schema; examples?: Record<string, { value: unknown }> }> }
  responses?: Record<string, { content?: Record<string, unknown> }>
}

const ADMIN_KEY = 'ops-key-0123456789abcdef'
const SECRET = 'webhook-secret-0123456789'
const HUGE = 'x'.repeat(20_000)

/** Values no Zoho id, amount, flag or code accepts. */
const HOSTILE_TEXT = [
  '',
  ' ',
  '-1',
  '1.5',
  '1e5',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x1F',
  '1,000',
  '12345678901234567890',
  '%00',
  '%ZZ',
  '%C0%AF',
  '%E2%80%AE1',
  '..%2F..%2Fetc%2Fpasswd',
  '%3Cscript%3E',
  "1'%20OR%20'1'='1",
  '%F0%9F%92%A9',
  '１２３',
  'true',
  'null',
  '[]',
  '{}',
  HUGE,
]

const typesOf = (schema: Schema, resolve: (s: Schema) => Schema): Set<string> => {
  const s = resolve(schema)
  if (s.anyOf) return new Set(s.anyOf.flatMap((sub) => [...typesOf(sub, resolve)]))
  if (Array.isArray(s.type)) return new Set(s.type)
  return new Set(s.type ? [s.type] : ['any'])
}

/** The hostile texts a parameter does not accept (some, like "1.5" for an amount, are fine). */
const rejectedBy = (schema: Schema) =>
  HOSTILE_TEXT.filter((value) => !(schema.enum?.includes(value) || (schema.pattern && new RegExp(schema.pattern).test(value))))

/** JSON values of every type a property does not accept (nothing for "anything goes"). */
function wrongValues(types: Set<string>): unknown[] {
  if (types.has('any')) return []
  const candidates: [string, unknown][] = [
    ['string', 'not-what-you-expect'],
    ['string', HUGE],
    ['number', -1],
    ['number', Number.MAX_VALUE],
    ['number', -1e16],
    ['integer', 3.5],
    ['boolean', true],
    ['null', null],
    ['array', [1, 'two', null]],
    ['object', { __proto__: { polluted: true } }],
    ['object', { nested: { deeper: { deepest: HUGE } } }],
  ]
  return candidates.filter(([type]) => !types.has(type) && !(type === 'integer' && types.has('number'))).map(([, v]) => v)
}

t.test('every operation answers malformed input with a 4xx problem+json, and stays healthy', async (t) => {
  const doc = JSON.parse(await readFile('openapi/openapi.json', 'utf8')) as {
    paths: Record<string, Record<string, Operation>>
    components: { schemas: Record<string, Schema> }
  }
  const resolve = (s: Schema): Schema => (s.$ref ? resolve(doc.components.schemas[s.$ref.split('/').pop() as string] as Schema) : s)
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    env: {
      API_KEYS: 'shop:shop-key-0123456789abcdef',
      ADMIN_API_KEYS: `ops:${ADMIN_KEY}`,
      WEBHOOK_SECRET: SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
    },
  })
  const headers = { 'x-api-key': ADMIN_KEY, 'x-webhook-secret': SECRET }
  const sent: Record<string, number> = {}
  const findings: string[] = []

  /** `page`: a browser's route (the sign-in), which answers people with an HTML page, not a problem. */
  async function expect4xx(what: string, request: Request, page = false) {
    const res = await app.inject({ ...request, method: request.method as 'GET', headers: { ...headers, ...(request.headers ?? {}) } })
    sent[what] = (sent[what] ?? 0) + 1
    const type = String(res.headers['content-type'] ?? '')
    if (page && res.statusCode >= 400 && res.statusCode < 500 && type.startsWith('text/html')) return
    if (res.statusCode < 400 || res.statusCode >= 500 || !type.startsWith('application/problem+json')) {
      findings.push(`${what}: ${request.method} ${String(request.url).slice(0, 120)} → ${res.statusCode} ${type} ${res.body.slice(0, 200)}`)
      return
    }
    const body = res.json()
    if (!body.code || !body.detail || body.status !== res.statusCode || body.request_id !== res.headers['x-request-id']) {
      findings.push(`${what}: malformed problem ${res.body.slice(0, 200)}`)
    }
  }

  for (const [template, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const params = operation.parameters ?? []
      const pathParams = params.filter((p) => p.in === 'path')
      const query = params.filter((p) => p.in === 'query')
      const json = operation.requestBody?.content['application/json']
      const baseBody = json ? (Object.values(json.examples ?? {})[0]?.value ?? {}) : undefined
      const fill = (overrides: Record<string, string> = {}) =>
        template.replace(/\{(\w+)\}/g, (_, name: string) => overrides[name] ?? '460000000031001')
      const page = Object.values(operation.responses ?? {}).some((r) => r.content?.['text/html'])
      const send = (what: string, request: Omit<Request, 'method'>) =>
        expect4xx(
          `${operation.operationId} ${what}`,
          {
            method: method.toUpperCase(),
            ...request,
            headers: { ...(request.payload !== undefined ? { 'content-type': 'application/json' } : {}), ...request.headers },
          },
          page,
        )
      const bodyFor = (value: unknown) => (baseBody === undefined ? undefined : JSON.stringify(value))

      for (const p of pathParams) {
        for (const value of rejectedBy(p.schema)) {
          if (value === '') continue // an empty segment is another route
          await send('path', { url: fill({ [p.name]: value }), payload: bodyFor(baseBody) })
        }
      }
      for (const p of query) {
        if (p.name === 'secret') continue // any text is a (wrong) secret: covered below
        for (const value of rejectedBy(p.schema)) await send('query', { url: `${fill()}?${p.name}=${value}`, payload: bodyFor(baseBody) })
        await send('query', { url: `${fill()}?${p.name}=1&${p.name}=2`, payload: bodyFor(baseBody) })
      }
      if (query.length > 0 && !query.some((p) => p.name === 'secret')) {
        await send('query', { url: `${fill()}?unexpected=1`, payload: bodyFor(baseBody) })
        await send('query', { url: `${fill()}?__proto__[admin]=1`, payload: bodyFor(baseBody) })
      }
      if (json && baseBody !== undefined) {
        const url = fill()
        const raw: [string, string][] = [
          ['{', 'application/json'],
          ['{"a":1,}', 'application/json'],
          ["{'single': 'quotes'}", 'application/json'],
          ['null', 'application/json'],
          ['[]', 'application/json'],
          ['"text"', 'application/json'],
          ['42', 'application/json'],
          ['{"__proto__": {"isAdmin": true}}', 'application/json'],
          ['{"constructor": {"prototype": {"isAdmin": true}}}', 'application/json'],
          [`${'['.repeat(5000)}${']'.repeat(5000)}`, 'application/json'],
          [`{"x": "${'a'.repeat(2 * 1024 * 1024)}"}`, 'application/json'],
          [JSON.stringify(baseBody), 'text/plain'],
          [JSON.stringify(baseBody), 'application/xml'],
          [JSON.stringify(baseBody), 'multipart/form-data; boundary=x'],
          [JSON.stringify(baseBody), 'application/json; charset=utf-16'],
          ['\u0000\u0001\u0002', 'application/octet-stream'],
        ]
        for (const [payload, type] of raw) await send('body', { url, payload, headers: { 'content-type': type } })
        const schema = resolve(json.schema)
        for (const [name, property] of Object.entries(schema.properties ?? {})) {
          const values = [...wrongValues(typesOf(property, resolve))]
          const resolved = resolve(property)
          if (resolved.pattern || resolved.enum) values.push(...rejectedBy(resolved))
          for (const value of values) {
            await send(`body.${name}`, { url, payload: JSON.stringify({ ...(baseBody as object), [name]: value }) })
          }
          // One level down, e.g. order.amount and order.currency.
          for (const [inner, innerSchema] of Object.entries(resolved.properties ?? {})) {
            const innerValues = [
              ...wrongValues(typesOf(innerSchema, resolve)),
              ...(resolve(innerSchema).pattern ? rejectedBy(resolve(innerSchema)) : []),
            ]
            for (const value of innerValues) {
              const base = (baseBody as Record<string, Record<string, unknown>>)[name] ?? {}
              await send(`body.${name}.${inner}`, {
                url,
                payload: JSON.stringify({ ...(baseBody as object), [name]: { ...base, [inner]: value } }),
              })
            }
          }
        }
        if (schema.additionalProperties === false) {
          await send('body.unknown', { url, payload: JSON.stringify({ ...(baseBody as object), unknown_field: 1 }) })
        }
      }
    }
  }

  // Amounts: every way an order amount can be wrong, both routes.
  // 1e400 is Infinity once parsed: JSON cannot say NaN or Infinity any other way.
  for (const literal of ['-1', '-0.01', '1e16', '1e400', '-1e400', '"100"', '"1e5"', 'null', 'true', '[]', '{}']) {
    const payload = `{"order":{"amount":${literal}}}`
    await expect4xx('amount', {
      method: 'POST',
      url: '/contacts/460000000031001/risk',
      payload,
      headers: { 'content-type': 'application/json' },
    })
    await expect4xx('amount', {
      method: 'POST',
      url: '/risk/evaluate',
      payload: `{"contact":{},"order":{"amount":${literal}}}`,
      headers: { 'content-type': 'application/json' },
    })
  }

  const total = Object.values(sent).reduce((a, b) => a + b, 0)
  t.ok(total > 500, `${total} malformed requests sent`)
  t.same(findings, [], 'every answer was a 4xx problem+json')
  t.comment(`sent: ${JSON.stringify(sent)}`)
  t.equal(sandbox.stats.contactCalls, 0, 'none of it reached Zoho')
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'still alive')
  const still = await app.inject({ url: `/contacts/460000000026049/risk?organization_id=${ORG}`, headers })
  t.equal(still.json().decision, 'block', 'and still deciding correctly')
  t.same(
    still.json().reasons.map((r: { code: string }) => r.code),
    ['OUTSTANDING_OVER_LIMIT'],
  )
  t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'no prototype was polluted')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

/** Hostile rule files: deep, wide, long, binary, links, prototype keys. Each is a readable refusal. */
function hostileRuleFiles(): [string, string | Buffer][] {
  const leaf = { fact: 'outstanding_bcy', operator: 'greaterThan', value: 1 }
  const rule = (conditions: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ name: 'hostile', conditions, event: { type: 'block', params: { code: 'HOSTILE', message: 'x' } }, ...extra })
  // Built as text: JSON.stringify itself would overflow the stack on 5,000 levels.
  const deep = `${'{"not":'.repeat(5000)}${JSON.stringify(leaf)}${'}'.repeat(5000)}`
  let deepArrays = '1'
  for (let i = 0; i < 20_000; i++) deepArrays = `[${deepArrays}]`
  return [
    ['deep.json', rule({ all: ['DEEP'] }).replace('"DEEP"', deep)],
    ['deep-arrays.json', `{"name":"hostile","conditions":{"all":${deepArrays}}}`],
    ['wide.json', rule({ any: Array.from({ length: 20_000 }, () => leaf) })],
    ['long-list.json', rule({ all: [{ fact: 'status', operator: 'in', value: Array.from({ length: 50_000 }, (_, i) => `s${i}`) }] })],
    ['long-text.json', rule({ all: [leaf] }, { description: 'x'.repeat(60_000) })],
    ['huge.json', rule({ all: [leaf] }, { description: 'x'.repeat(5 * 1024 * 1024) })],
    ['binary.json', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256))],
    ['proto.json', '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":true}},"name":"p"}'],
    ['numbers.json', rule({ all: [{ ...leaf, value: 1 }] }).replace('"value":1', '"value":1e400')],
    ['not-an-object.json', '"just a string"'],
    ['empty.json', ''],
  ]
}

t.test('hostile rule files never crash or stall the service: /healthz answers and the event loop is never held', async (t) => {
  const dir = t.testdir({})
  await cp('rules', dir, { recursive: true })
  const sandbox = await startSandbox(t)
  const env = {
    ...process.env,
    ...sandboxEnv(sandbox, { PORT: '0', LOG_LEVEL: 'info', RULES_DIR: dir, ADMIN_API_KEYS: `ops:${ADMIN_KEY}` }),
  }
  const child = spawn(process.execPath, ['dist/server.js'], { env })
  t.teardown(() => child.kill('SIGKILL'))
  let exited: number | null = null
  child.once('exit', (code) => {
    exited = code
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  await eventually(() => /Server listening at http:\/\/127\.0\.0\.1:\d+/.test(output), 'the server to listen', 20_000)
  const port = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]
  const base = `http://127.0.0.1:${port}`
  await eventually(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true, 'the server to answer', 20_000)
  const admin = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' }
  const good = ((await (await fetch(`${base}/rules`, { headers: admin })).json()) as { version: string }).version

  // /healthz keeps answering throughout, and the server's event loop is never held (its own measure,
  // which a busy machine does not distort as a wall-clock bound on the probe would).
  let polling = true
  const probe = async () => {
    const res = await fetch(`${base}/healthz`)
    if (res.status !== 200) t.fail(`/healthz answered ${res.status}`)
  }
  await serverStall(base)
  const poll = (async () => {
    while (polling) {
      await probe()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  for (const [file, content] of hostileRuleFiles()) {
    await writeFile(join(dir, file), content)
    const reload = (await (await fetch(`${base}/rules/reload`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } })).json()) as {
      result: string
      errors?: { file: string }[]
    }
    t.equal(reload.result, 'rejected', `${file} is refused`)
    t.ok(
      reload.errors?.some((e) => e.file === file),
      `${file} is named in the errors`,
    )
    await rm(join(dir, file))
    if (typeof content === 'string' && content.length < 1024 * 1024) {
      const validate = await fetch(`${base}/rules/validate`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ rules: [{ file, content }] }),
      })
      t.ok(validate.status === 200 || validate.status === 413 || validate.status === 400, `${file} posted: ${validate.status}`)
    }
  }
  await symlink('/etc/shadow', join(dir, 'shadow.json'))
  const linked = (await (await fetch(`${base}/rules/reload`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } })).json()) as {
    result: string
  }
  t.equal(linked.result, 'rejected', 'a link out of the folder is refused')
  await rm(join(dir, 'shadow.json'))
  polling = false
  await poll
  const stallMs = await serverStall(base)
  t.ok(stallMs < STALL_MS, `the server's event loop was never held longer than ${Math.round(stallMs)} ms throughout`)
  t.equal(exited, null, 'the process never exited')
  const after = (await (await fetch(`${base}/rules`, { headers: admin })).json()) as { version: string }
  t.equal(after.version, good, 'the good set stayed active')
  t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'no prototype was polluted')
})
