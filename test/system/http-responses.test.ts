import type { Socket } from 'node:net'
import { connect } from 'node:net'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { buildServer } from '../../src/server.js'
import { problem, sandboxEnv, startApp, startSandbox } from '../helpers/app.js'

/**
 * What any HTTP client gets, whatever it sends: security headers, problem+json for what the HTTP
 * parser refuses, 405 with Allow, 400 for invalid UTF-8.
 */

/** Sends raw bytes to a listening server and returns what it answered. */
async function raw(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  let answer = ''
  socket.on('data', (chunk) => {
    answer += chunk
  })
  socket.write(request)
  await new Promise((resolve) => socket.on('close', resolve))
  return answer
}

const SHOP = 'shop-key-0123456789abcdef'
const KEYS = { API_KEYS: `shop:${SHOP}`, ADMIN_API_KEYS: 'ops:ops-key-0123456789abcdef0' }

t.test('security headers, and Swagger UI still works under its own policy', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  for (const url of ['/contacts/460000000031001/risk', '/contacts/abc/risk', '/nope']) {
    const api = await app.inject({ url })
    t.equal(api.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", url)
    t.equal(api.headers['x-content-type-options'], 'nosniff')
    t.equal(api.headers['x-frame-options'], 'DENY')
    t.equal(api.headers['cache-control'], 'no-store', 'no proxy keeps a decision')
    t.match(api.headers['strict-transport-security'], /max-age=\d+/)
    t.notOk(api.headers['x-powered-by'])
  }
  const ui = await app.inject({ url: '/docs/' })
  for (const header of ['x-content-type-options', 'cross-origin-opener-policy', 'referrer-policy', 'strict-transport-security']) {
    t.ok(ui.headers[header], `the page has helmet's ${header}`)
  }
  const csp = String(ui.headers['content-security-policy'])
  t.match(csp, /script-src 'self'/, 'the UI’s own scripts only')
  t.notMatch(csp, /validator\.swagger\.io/, 'no call to the online validator')
  t.notMatch(csp, /upgrade-insecure-requests/, 'assets load over plain http on loopback')
  t.notMatch(ui.body, /https?:\/\/(?!127)[a-z]/i, 'no asset from a CDN')
})

// Issue 13, finding 13 (failed before its fix).
t.test('what the HTTP parser refuses is problem+json too, with a request id and security headers', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const requests = [
    'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n',
    'POST /contacts/1/risk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    'POST /contacts/1/risk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}',
  ]
  for (const request of requests) {
    const answer = await raw(port, request)
    t.match(answer, /^HTTP\/1\.1 400 Invalid request\r\n/, JSON.stringify(request.slice(0, 40)))
    t.match(answer, /\r\ncontent-type: application\/problem\+json\r\n/)
    t.match(answer, /\r\nx-request-id: [0-9a-f-]{36}\r\n/)
    t.match(answer, /\r\nx-content-type-options: nosniff\r\n/)
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
    t.same(Object.keys(body).sort(), ['code', 'detail', 'request_id', 'status', 'title', 'type'])
    t.equal(body.code, 'invalid_request')
  }
})

// Issue 13, finding 14 (failed before its fix).
t.test('a known path with another method is 405 with Allow', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    const res = await app.inject({ method, url: '/contacts/460000000026049/risk' })
    problem(t, res, 405, 'method_not_allowed')
    t.equal(res.headers.allow, 'GET, POST')
  }
  problem(t, await app.inject({ method: 'PUT', url: '/nowhere' }), 404, 'not_found')
})

// Issue 13, finding 16 (failed before its fix).
t.test('invalid UTF-8 inside a JSON string is refused', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  const payload = Buffer.concat([Buffer.from('{"order":{"amount":1,"reference":"SO-'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')])
  const res = await app.inject({
    method: 'POST',
    url: '/contacts/460000000031001/risk',
    headers: { 'content-type': 'application/json' },
    payload,
  })
  t.match(problem(t, res, 400, 'invalid_request').detail, /not valid UTF-8/)
  t.equal(sandbox.stats.contactCalls, 0, 'Zoho is not asked')
})

/** Opens `n` connections that each send the head of a request with a large body, then drip it a byte every 100 ms. */
async function drips(port: number, n: number, head: string): Promise<{ closed: Promise<string[]>; stop(): void }> {
  const sockets: Socket[] = []
  const answers: Promise<string>[] = []
  for (let i = 0; i < n; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk
    })
    answers.push(new Promise((resolve) => socket.on('close', () => resolve(answer))))
    socket.write(`${head}Content-Length: 10000\r\n\r\n{`)
    sockets.push(socket)
  }
  const timer = setInterval(() => {
    for (const socket of sockets) if (socket.writable) socket.write(' ')
  }, 100)
  const stop = () => {
    clearInterval(timer)
    for (const socket of sockets) socket.destroy()
  }
  return { closed: Promise.all(answers), stop }
}

// Issue 31, finding 5 (failed before its fix).
t.test('300 clients dripping a body are closed: at once after an early 4xx, within the request timeout otherwise', async (t) => {
  const sandbox = await startSandbox(t)
  const config = loadConfig(sandboxEnv(sandbox, KEYS))
  const requestTimeoutMs = 2000
  const app = await buildServer(config, { requestTimeoutMs })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const head = (key: string) =>
    `POST /contacts/460000000031001/risk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n`

  // A valid key: the body is waited for, up to the request timeout.
  const slow = await drips(port, 300, head(SHOP))
  t.teardown(slow.stop)
  const timed = await Promise.race([
    slow.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connections still open after 10 s')), 10_000)),
  ])
  t.ok(
    timed.every((a) => /^HTTP\/1\.1 408 /.test(a)),
    `each answered 408 request_timeout after ${requestTimeoutMs} ms and closed`,
  )
  // A refused key (then, for this address, too many refused keys): answered before the body.
  const refused = await drips(port, 300, head('a-wrong-key-0123456789'))
  t.teardown(refused.stop)
  const started = performance.now()
  const answers = await Promise.race([
    refused.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connections still open after 10 s')), 10_000)),
  ])
  t.comment(`300 refused drips closed in ${Math.round(performance.now() - started)} ms`)
  t.ok(
    answers.every((a) => /^HTTP\/1\.1 (401|429) /.test(a) && /\r\nconnection: close\r\n/i.test(a)),
    'each answered 401 (or 429 once the address is throttled) and closed',
  )

  t.equal(sandbox.stats.contactCalls, 0, 'no body arrived: nothing was decided')
})

// Issue 31, finding 9 (failed before its fix).
t.test('README and code agree: JSON answers and the console may not be framed, pages only by themselves', async (t) => {
  const readme = await (await import('node:fs/promises')).readFile('README.md', 'utf8')
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: KEYS })
  for (const url of ['/healthz', '/console']) {
    const res = await app.inject({ url })
    t.equal(res.headers['x-frame-options'], 'DENY', url)
    t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/, url)
  }
  t.equal((await app.inject({ url: '/problems' })).headers['x-frame-options'], 'SAMEORIGIN', 'pages: helmet’s own')
  t.match(readme, /JSON answers get [^.]*`X-Frame-Options: DENY`/)
  t.match(readme, /pages \(Swagger UI, `\/problems`\) get helmet's\sfull set \(`X-Frame-Options: SAMEORIGIN`\)/)
  t.match(readme, /the console a stricter one \(no inline style either\) with `X-Frame-Options: DENY`/)
})
