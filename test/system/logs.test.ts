import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/contacts.js'
import { logCapture, ORG, startApp, startSandbox } from '../helpers/app.js'
import { ERP_KEY, TWO_CALLERS as KEYS, OPS_KEY, SHOP_KEY, WEBHOOK_SECRET } from '../helpers/keys.js'
import { startRedis } from '../helpers/redis.js'

/** What the logs say: one line per decision, and never a secret (keys, tokens, the webhook secret). */

t.test('one decision log line per decision, and no secret in any log line', async (t) => {
  const redis = await startRedis(t)
  const sandbox = await startSandbox(t)
  const logs = logCapture()
  const { app } = await startApp(t, sandbox, { logs, env: { ...KEYS, REDIS_URL: redis.url, LOG_LEVEL: 'debug' } })
  const shop = { authorization: `Bearer ${SHOP_KEY}` }
  const decision = (
    await app.inject({
      method: 'POST',
      url: '/contacts/460000000031004/risk',
      headers: shop,
      payload: { order: { amount: 6000, currency: 'INR', reference: 'SO-1001' } },
    })
  ).json()
  await app.inject({ url: '/contacts/460000000026049/risk?explain=true', headers: { 'x-api-key': ERP_KEY } })
  // Everything else a day brings: a rejected token, refused keys, admin work, webhooks, errors.
  sandbox.revokeTokens()
  await app.inject({ url: '/contacts/460000000031001/risk', headers: shop })
  await app.inject({ url: '/contacts/460000000031001/risk', headers: { authorization: `Bearer ${SHOP_KEY}x` } })
  await app.inject({ url: '/contacts/460000000099999/risk', headers: shop })
  await app.inject({ method: 'DELETE', url: '/contacts/460000000031001/cache', headers: { 'x-api-key': OPS_KEY } })
  await app.inject({ method: 'DELETE', url: '/contacts/460000000031001/cache', headers: shop })
  await app.inject({ method: 'POST', url: `/webhooks/zoho?secret=${WEBHOOK_SECRET}`, payload: { contact_id: '460000000031001' } })
  await app.inject({ method: 'POST', url: '/webhooks/zoho', headers: { 'x-webhook-secret': WEBHOOK_SECRET }, payload: { contact_id: '1' } })
  await app.inject({ method: 'POST', url: '/webhooks/zoho?secret=wrong-secret', payload: { contact_id: '1' } })
  await app.inject({ method: 'POST', url: '/rules/reload', headers: { 'x-api-key': OPS_KEY } })
  sandbox.faults.contact.push({ status: 401, body: { code: 57 } }, { status: 401, body: { code: 57 } })
  await app.inject({ url: '/contacts/460000000031002/risk', headers: shop })
  sandbox.faults.token.push({ body: { error: 'invalid_client' } })
  sandbox.revokeTokens()
  await app.inject({ url: '/contacts/460000000031003/risk', headers: shop })

  const decisions = logs.lines.filter((l) => l.msg === 'decision')
  t.equal(decisions.length, 3, 'one line per decision')
  t.match(decisions[0], {
    level: 30,
    decision_id: decision.decision_id,
    contact_id: '460000000031004',
    organization_id: ORG,
    decision: 'block',
    rules_version: decision.rules_version,
    contact_source: 'zoho',
    contact_age_seconds: 0,
    facts: { outstanding_bcy: 38000, credit_limit: 40000, order_amount: 6000 },
    order: { amount: 6000, currency: 'INR', reference: 'SO-1001' },
    caller: 'shop',
    latency_ms: Number,
    reqId: String,
  })
  t.same(decisions[0]?.reasons, ['CREDIT_LIMIT_EXCEEDED'])
  t.same(decisions[0]?.alerts, ['UTILIZATION_OVER_80'])
  t.match(decisions[1], { caller: 'erp', contact_id: '460000000026049' })

  const secrets = [
    SHOP_KEY,
    ERP_KEY,
    OPS_KEY,
    WEBHOOK_SECRET,
    SANDBOX_CREDENTIALS.clientSecret,
    SANDBOX_CREDENTIALS.refreshToken,
    ...sandbox.issuedTokens,
  ]
  t.ok(sandbox.issuedTokens.length >= 2, 'tokens were minted and rejected along the way')
  t.ok(logs.raw.length > 25, `${logs.raw.length} log lines read`)
  for (const line of logs.raw) {
    for (const secret of secrets) {
      if (line.includes(secret)) t.fail(`a secret in the log: ${line.slice(0, 300)}`)
    }
  }
  t.ok(
    logs.raw.some((l) => l.includes('/webhooks/zoho?[redacted]')),
    'the webhook’s query string is never logged',
  )
})

// Issue 13, finding 7 (failed before its fix).
t.test('the webhook secret never reaches a log line, however its name is encoded', async (t) => {
  const sandbox = await startSandbox(t)
  const logs = logCapture()
  const secret = 'webhook-secret-0123456789'
  const { app } = await startApp(t, sandbox, { env: { WEBHOOK_SECRET: secret, LOG_LEVEL: 'debug' }, logs })
  const statuses = []
  for (const url of [`/webhooks/zoho?%73ecret=${secret}`, `/webhooks/zoho?secret=${secret}`, `/webhooks/zoho?SECRET=${secret}`]) {
    statuses.push((await app.inject({ method: 'POST', url, payload: { contact_id: '460000000031001' } })).statusCode)
  }
  t.same(statuses, [200, 200, 401], 'the secret works percent-encoded; the parameter name is case-sensitive')
  await app.inject({ url: `/contacts/460000000031001/risk?organization_id=10234695&%6Bey=${secret}` })
  t.ok(logs.raw.length > 3)
  t.notOk(
    logs.raw.some((line) => line.includes(secret)),
    'no line carries the secret',
  )
})

/** Runs a script that logs `perTurn` lines in one turn and as many in the next, then exits; its stdout read after `readAfterMs`. */
async function logThenExit(perTurn: number, readAfterMs: number) {
  const script = `
    import { pino } from 'pino'
    import { stdoutLog } from './src/lib/logging.ts'
    const log = pino({}, stdoutLog())
    for (let i = 0; i < ${perTurn}; i++) log.info({ i, text: 'crédit ✓' }, 'line')
    setImmediate(() => {
      for (let i = ${perTurn}; i < ${2 * perTurn}; i++) log.info({ i, text: 'crédit ✓' }, 'line')
      process.exit(3)
    })`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.pause()
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  const chunks: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
  // A reader that falls behind (the pipe fills up and the writes wait), then reads it all.
  if (readAfterMs > 0) await new Promise((resolve) => setTimeout(resolve, readAfterMs))
  child.stdout.resume()
  const [status] = (await once(child, 'close')) as [number | null]
  return { status, stderr, out: Buffer.concat(chunks).toString('utf8') }
}

t.test('stdout takes a turn of lines at once, in their order, and the last turn is written on exit', async (t) => {
  // The second turn's lines never reach sonic-boom by the event loop (process.exit in that same
  // turn): the exit hook writes them after what sonic-boom held, also to a reader that lags.
  for (const [perTurn, readAfterMs] of [
    [1000, 0],
    [5000, 1000],
  ] as const) {
    const run = await logThenExit(perTurn, readAfterMs)
    t.equal(run.status, 3, run.stderr)
    const lines = run.out.trimEnd().split('\n')
    t.equal(lines.length, 2 * perTurn, `${perTurn} lines a turn, read after ${readAfterMs} ms: no line lost`)
    const whole = lines.every((line, at) => {
      try {
        const parsed = JSON.parse(line) as { i: number; text: string }
        return parsed.i === at && parsed.text === 'crédit ✓'
      } catch {
        return false
      }
    })
    t.ok(whole, 'every line whole, in the order it was logged')
  }
})
