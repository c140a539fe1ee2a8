// Record 008: N concurrent orders with distinct references for one customer over 3 instances
// sharing one redis-server. Run after `npm run build` in the repository:
//   node docs/decisions/measure/exp8-reservations.mjs [orders] [room-in-orders]
// Prints how many were allowed (must equal the room), the wall time, and p50/p99 per request.
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig } from '../../../dist/config.js'
import { createSandbox } from '../../../dist/sandbox/sandbox.js'
import { buildServer } from '../../../dist/server.js'

const orders = Number(process.argv[2] ?? 100)
const room = Number(process.argv[3] ?? 50)
const port = 16398
const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
await sleep(300)
const sandbox = createSandbox()
await sandbox.listen(0)
const org = [...sandbox.organizations.keys()][0]
const contacts = sandbox.organizations.get(org)
const id = '5800000000000001'
contacts.set(id, { ...contacts.get('460000000031001'), contact_id: id, credit_limit: 30000 + room * 1000, outstanding_receivable_amount_bcy: 30000 })
const env = { ...sandbox.creditgateEnv, LOG_LEVEL: 'silent', REDIS_URL: `redis://127.0.0.1:${port}`, API_KEYS: 'shop:shop-key-0123456789abcdef' }
const apps = []
for (let i = 0; i < 3; i++) {
  const app = await buildServer(loadConfig(env), {})
  await app.ready()
  apps.push(app)
}
const ask = async (i, reference) => {
  const started = performance.now()
  const res = await apps[i % 3].inject({
    method: 'POST',
    url: `/contacts/${id}/risk`,
    headers: { authorization: 'Bearer shop-key-0123456789abcdef' },
    payload: { order: { amount: 1000, ...(reference ? { reference } : {}) } },
  })
  return { ms: performance.now() - started, body: res.json() }
}
await ask(0) // the contact and the receivables read once
for (const withReference of [false, true]) {
  const started = performance.now()
  const answers = await Promise.all(Array.from({ length: orders }, (_, i) => ask(i, withReference ? `R-${i}` : undefined)))
  const wall = performance.now() - started
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b)
  const allowed = answers.filter((a) => a.body.decision === 'allow').length
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(1)
  console.log(
    `${withReference ? 'with references   ' : 'without references'}: ${orders} orders, room ${room}: ${allowed} allowed; wall ${wall.toFixed(0)} ms; p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`,
  )
}
for (const app of apps) await app.close()
await sandbox.close()
redis.kill('SIGKILL')
