import { spawn } from 'node:child_process'
import t from 'tap'
import { eventually, sandboxEnv, startApp, startSandbox } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

/** Readiness (/readyz) and shutdown: what load balancers see, and SIGTERM draining the requests in flight. */

// Issue 13, finding 17 (failed before its fix).
t.test('/readyz tells Redis full from Redis gone', async (t) => {
  const redis = await startRedis(t)
  await redis.client.connect()
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { REDIS_URL: redis.url } })
  await redis.client.config('SET', 'maxmemory', '1')
  await redis.client.config('SET', 'maxmemory-policy', 'noeviction')
  t.equal((await app.inject({ url: '/contacts/460000000031001/risk' })).statusCode, 200, 'decisions go on')
  const ready = (await app.inject({ url: '/readyz' })).json()
  t.equal(ready.status, 'degraded')
  t.match(ready.checks.redis.detail, /^full: Redis answers but refuses writes/)
  await redis.client.config('SET', 'maxmemory', '0')
  await redis.kill()
  await eventually(
    async () => /^unreachable/.test((await app.inject({ url: '/readyz' })).json().checks.redis.detail),
    'unreachable',
    15_000,
  )
})

// Issue 13, finding 18 (failed before its fix).
t.test('on SIGTERM, /readyz answers 503 for SHUTDOWN_DELAY_MS before the listener closes', async (t) => {
  const sandbox = await startSandbox(t)
  const env = { ...process.env, ...sandboxEnv(sandbox, { PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DELAY_MS: '1500' }) }
  const child = spawn(process.execPath, ['dist/server.js'], { env })
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  await eventually(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.test(output), 'the server to listen', 20_000)
  const base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
  t.equal((await fetch(`${base}/readyz`)).status, 200)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const signalled = Date.now()
  child.kill('SIGTERM')
  await eventually(async () => (await fetch(`${base}/readyz`)).status === 503, '/readyz to say not ready')
  const notReady = (await (await fetch(`${base}/readyz`)).json()) as { status: string; checks: Record<string, { detail: string }> }
  t.equal(notReady.status, 'not_ready')
  t.equal(notReady.checks.shutdown?.detail, 'shutting down')
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'still answering while load balancers drain')
  t.equal(await exited, 0)
  t.ok(Date.now() - signalled >= 1500, 'the listener closed after the delay')
})

t.test('SIGTERM drains in-flight requests, then the process exits 0', async (t) => {
  const sandbox = await startSandbox(t)
  sandbox.faults.latencyMs = 600
  const env = { ...process.env, ...sandboxEnv(sandbox, { PORT: '0', LOG_LEVEL: 'info' }) }
  const child = spawn(process.execPath, ['dist/server.js'], { env })
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  await eventually(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.test(output), 'the server to listen', 20_000)
  const base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
  const inFlight = fetch(`${base}/contacts/460000000031001/risk`)
  await eventually(() => sandbox.stats.contactCalls === 1, 'the request to reach Zoho')
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  const res = await inFlight
  t.equal(res.status, 200, 'the request in flight was answered')
  t.equal(((await res.json()) as { decision: string }).decision, 'allow')
  t.equal(await exited, 0)
  t.match(output, /"signal":"SIGTERM".*"msg":"shutting down: not ready, then draining in-flight requests"/)
})
