import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { Agent, get } from 'node:http'
import { createServer } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { parseContact } from '../domain/contact.js'
import { buildFacts } from '../domain/facts.js'
import { evaluate } from '../rules/evaluate.js'
import { prepareRuleSetFrom } from '../rules/fixtures.js'
import { compileRuleSet, type RuleSet } from '../rules/rule-set.js'
import { readRulesFolder } from '../rules/sources.js'
import { SANDBOX_ORGANIZATION_ID, SANDBOX_SECOND_ORGANIZATION_ID } from '../sandbox/contacts.js'
import { zohoContact } from '../sandbox/example-contact.js'
import { createSandbox } from '../sandbox/sandbox.js'
import { fillRedisHistory, timeBacktest } from './history-fill.js'

/**
 * npm run bench — everything measured in one run on this machine, reported as ratios:
 *   (a) a cached decision, (b) a cached decision with an order amount (a new amount every
 *   request), (c) a bare fastify route returning a same-size body; alternated a/b/c per round.
 *   A cold burst: 1,000 requests over 100 uncached contacts: Zoho calls made and p99.
 *   The evaluator alone with 4, 50 and 500 rules. A backtest of 100,000 recorded decisions, with
 *   /healthz probed meanwhile.
 * BENCH_SECONDS (default 10) per run, BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 64).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64)
const KEY = 'bench-key-0123456789abcdef'
const ADMIN_KEY = 'bench-admin-0123456789abcdef'
const CACHED_CONTACT = '460000000026049'

const children: ChildProcess[] = []
const out = (line = '') => process.stdout.write(`${line}\n`)

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

function start(command: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(child)
  return child
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

interface Run {
  rps: number
  p50: number
  p99: number
  non2xx: number
}

async function load(options: autocannon.Options): Promise<Run> {
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, headers: { authorization: `Bearer ${KEY}` }, ...options })
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
const summarise = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
})

/** Synthetic rules: varied facts and operators, so growth in rule count shows. */
function syntheticRules(count: number): RuleSet {
  const facts = ['outstanding_bcy', 'exposure_bcy', 'unused_credits_bcy', 'order_amount', 'payment_terms']
  const sources = Array.from({ length: count }, (_, i) => ({
    file: `rule-${String(i).padStart(3, '0')}.json`,
    content: {
      name: `rule-${i}`,
      priority: 1 + (i % 10),
      conditions: {
        all: [
          { fact: facts[i % facts.length], operator: i % 2 ? 'greaterThan' : 'lessThanInclusive', value: 1000 * (i + 1) },
          { fact: 'status', operator: 'equal', value: i % 3 ? 'active' : 'inactive' },
        ],
      },
      event: { type: i % 4 === 0 ? 'review' : 'alert', params: { code: `RULE_${i}`, message: `rule ${i}: {{outstanding_bcy}}` } },
    },
  }))
  const compiled = compileRuleSet(sources)
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors[0]))
  return compiled.ruleSet
}

async function evaluatorRate(ruleSet: RuleSet): Promise<number> {
  const parsed = parseContact(
    zohoContact('460000000000001', 'Bench', { outstanding_receivable_amount_bcy: 62400, unused_credits_receivable_amount_bcy: 10 }),
  )
  if (!parsed.ok) throw new Error(parsed.problem)
  const deadline = performance.now() + Math.min(3000, SECONDS * 300)
  let n = 0
  const started = performance.now()
  while (performance.now() < deadline) {
    await evaluate(ruleSet, buildFacts(parsed.contact, { amount: n % 5000 }, 0))
    n++
  }
  return n / ((performance.now() - started) / 1000)
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'creditgate-bench-'))
  const sandbox = createSandbox()
  // Cold contacts live in the second organization: their burst has a Zoho budget of its own.
  const contacts = sandbox.organizations.get(SANDBOX_SECOND_ORGANIZATION_ID) as Map<string, Record<string, unknown>>
  const cold = Array.from({ length: 100 }, (_, i) => {
    const id = `47${String(i).padStart(13, '0')}`
    contacts.set(id, zohoContact(id, `Cold ${i}`, { outstanding_receivable_amount_bcy: i * 1000 }))
    return id
  })
  const first = sandbox.organizations.get(SANDBOX_ORGANIZATION_ID) as Map<string, Record<string, unknown>>
  const single = Array.from({ length: 40 }, (_, i) => {
    const id = `48${String(i).padStart(13, '0')}`
    first.set(id, zohoContact(id, `Single ${i}`, { outstanding_receivable_amount_bcy: i * 1000 }))
    return id
  })
  await sandbox.listen(await freePort())
  sandbox.faults.latencyMs = 100 // a realistic Zoho round trip

  const redisPort = await freePort()
  start(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    {},
  )
  const appPort = await freePort()
  start(process.execPath, ['dist/server.js'], {
    PORT: String(appPort),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    ...sandbox.creditgateEnv,
    ZOHO_REQUESTS_PER_MINUTE: '100',
    ZOHO_MAX_CONCURRENCY: '10',
    API_KEYS: `bench:${KEY}`,
    ADMIN_API_KEYS: `bench-admin:${ADMIN_KEY}`,
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  })
  const app = `http://127.0.0.1:${appPort}`
  await waitFor(`${app}/healthz`)
  // Cold burst: 1,000 concurrent requests over 100 contacts nobody has asked about yet.
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const ask = (url: string) =>
    new Promise<number>((resolve, reject) => {
      get(url, { agent, headers: { authorization: `Bearer ${KEY}` } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      }).on('error', reject)
    })
  const latencies: number[] = []
  const statuses = new Map<number, number>()
  const burstStarted = performance.now()
  await Promise.all(
    Array.from({ length: 1000 }, async (_, i) => {
      const t0 = performance.now()
      const status = await ask(`${app}/contacts/${cold[i % 100]}/risk?organization_id=${SANDBOX_SECOND_ORGANIZATION_ID}`)
      latencies.push(performance.now() - t0)
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }),
  )
  const burstMs = performance.now() - burstStarted
  latencies.sort((x, y) => x - y)
  const coldLine =
    `cold burst: 1,000 requests over 100 uncached contacts (Zoho latency ${sandbox.faults.latencyMs} ms): ` +
    `${sandbox.stats.contactCalls} Zoho contact calls, ${sandbox.stats.tokenCalls} token calls, ` +
    `statuses ${JSON.stringify(Object.fromEntries(statuses))}, p50 ${latencies[499]?.toFixed(0)} ms, p99 ${latencies[989]?.toFixed(0)} ms, all done in ${burstMs.toFixed(0)} ms`
  agent.destroy()

  const cachedBody = await fetch(`${app}/contacts/${CACHED_CONTACT}/risk`, { headers: { authorization: `Bearer ${KEY}` } })
  const body = await cachedBody.text()

  // One request at a time: what a single decision costs, cached and not (Zoho answering at once).
  sandbox.faults.latencyMs = 0
  const timed = async (url: string) => {
    const t0 = performance.now()
    await (await fetch(url, { headers: { authorization: `Bearer ${KEY}` } })).text()
    return performance.now() - t0
  }
  const cachedMs: number[] = []
  for (let i = 0; i < 200; i++) cachedMs.push(await timed(`${app}/contacts/${CACHED_CONTACT}/risk`))
  const uncachedMs: number[] = []
  for (const id of single) uncachedMs.push(await timed(`${app}/contacts/${id}/risk`))
  const singleLine = `one request at a time: cached decision p50 ${median(cachedMs).toFixed(2)} ms; uncached decision p50 ${median(uncachedMs).toFixed(2)} ms (Zoho answering in 0 ms; add Zoho's own latency, typically 100–300 ms)`
  await writeFile(join(dir, 'body.json'), body)
  const barePort = await freePort()
  start(process.execPath, ['dist/cli/bench-bare.js'], { PORT: String(barePort), BENCH_BODY_FILE: join(dir, 'body.json') })
  const bare = `http://127.0.0.1:${barePort}`
  await waitFor(`${bare}/x`)

  out(`creditgate benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`)
  out(`autocannon, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds alternating a/b/c, medians`)
  out(
    `decision body ${Buffer.byteLength(body)} bytes; creditgate with Redis, API key auth, rate limiting, LOG_LEVEL=${process.env.LOG_LEVEL ?? 'info'}`,
  )
  out()

  let amount = 0
  const scenarios = {
    a: () => load({ url: `${app}/contacts/${CACHED_CONTACT}/risk` }),
    b: () =>
      load({
        url: app,
        requests: [
          {
            setupRequest: (req: autocannon.Request) => {
              amount = (amount + 1) % 1e9
              return { ...req, path: `/contacts/${CACHED_CONTACT}/risk?order_amount=${amount}.50` }
            },
          },
        ],
      }),
    c: () => load({ url: `${bare}/contacts/${CACHED_CONTACT}/risk` }),
  }
  await load({ url: `${app}/contacts/${CACHED_CONTACT}/risk`, duration: 3 }) // warm-up
  await load({ url: `${bare}/x`, duration: 3 })
  const runs: Record<keyof typeof scenarios, Run[]> = { a: [], b: [], c: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const key of ['a', 'b', 'c'] as const) runs[key].push(await scenarios[key]())
  }
  const [a, b, c] = [summarise(runs.a), summarise(runs.b), summarise(runs.c)]
  const row = (name: string, r: Run) =>
    out(
      `| ${name.padEnd(44)} | ${r.rps.toFixed(0).padStart(8)} | ${r.p50.toFixed(1).padStart(7)} | ${r.p99.toFixed(1).padStart(7)} | ${String(r.non2xx).padStart(5)} |`,
    )
  out(`| ${'scenario'.padEnd(44)} |    req/s | p50 ms | p99 ms | non-2xx |`)
  out(`|${'-'.repeat(46)}|----------|--------|--------|-------|`)
  row('(a) cached decision', a)
  row('(b) cached decision, new order amount each', b)
  row('(c) bare fastify, same-size body', c)
  out()
  out(
    `throughput a/c = ${(a.rps / c.rps).toFixed(2)}  (target ≥ 0.60)    p99 a/c = ${(a.p99 / Math.max(c.p99, 0.001)).toFixed(2)}  (target ≤ 2.00)`,
  )
  out(`throughput b/c = ${(b.rps / c.rps).toFixed(2)}                       p99 b/c = ${(b.p99 / Math.max(c.p99, 0.001)).toFixed(2)}`)
  out()
  out(coldLine)
  out(singleLine)
  out()

  const shipped = await prepareRuleSetFrom('rules')
  if (!shipped.ok) throw new Error('the shipped rules do not load')
  out('| rules | decisions/s (evaluator alone) | µs per decision | µs per rule |')
  out('|------:|-----:|-----:|-----:|')
  for (const ruleSet of [shipped.ruleSet, syntheticRules(50), syntheticRules(500)]) {
    const rate = await evaluatorRate(ruleSet)
    const us = 1e6 / rate
    out(`| ${ruleSet.rules.length} | ${rate.toFixed(0)} | ${us.toFixed(1)} | ${(us / ruleSet.rules.length).toFixed(1)} |`)
  }
  out()

  // A backtest of 100,000 recorded decisions (2,000 customers, five order sizes) in Redis, the
  // shipped rules with the 50,000 threshold at 40,000, /healthz probed every 5 ms meanwhile.
  await fillRedisHistory(`redis://127.0.0.1:${redisPort}`, SANDBOX_ORGANIZATION_ID, 100_000)
  const { rules } = await readRulesFolder('rules')
  const candidate = rules.map((r) =>
    r.file === 'outstanding-over-50000.json' ? { file: r.file, content: String(r.content).replace('50000', '40000') } : r,
  )
  const idle = await timeBacktest(app, ADMIN_KEY, { rules: candidate, limit: 1 })
  const timing = await timeBacktest(app, ADMIN_KEY, { rules: candidate })
  const evaluated = (timing.body as { evaluated?: number }).evaluated
  out('| backtest | decisions | ms (target ≤ 2,000) | /healthz p99 ms meanwhile (target ≤ 50) |')
  out('|---|---:|---:|---:|')
  out(
    `| 100,000 recorded in Redis, worker reading them | ${evaluated} | ${timing.elapsedMs.toFixed(0)} | ${timing.healthzP99Ms.toFixed(1)} (${timing.probes} probes) |`,
  )
  out(
    `| 1 decision (the first backtest: starts the worker) | 1 | ${idle.elapsedMs.toFixed(0)} | ${idle.healthzP99Ms.toFixed(1)} (${idle.probes} probes) |`,
  )
  await sandbox.close()
}

try {
  await main()
} finally {
  for (const child of children) child.kill('SIGTERM')
}
