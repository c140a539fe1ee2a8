// Loads server.mjs variants with autocannon. All variants run at once, each in its own process on
// its own port (idle ones cost nothing); each is warmed up 1 s. A round gives each variant
// BENCH_SECONDS of load in 1 s slices interleaved A B C A B C … (order rotated every round), so
// that load from other users of this shared machine falls on every variant alike. Per round and
// variant: req/s over its slices, p99 the median of its slices' p99. Medians of the rounds, and
// ratios to the first variant.
//
//   node bench.mjs headers      003: plain / precomputed helmet headers / @fastify/helmet
//   node bench.mjs ratelimit    004: plain / @fastify/rate-limit Redis store / in-memory store / creditgate's batched store
//   BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32) change the run.
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import autocannon from 'autocannon'
import { median, startRedis, stopRedis } from './lib.mjs'

const GROUPS = {
  headers: ['plain', 'precomputed', 'fastify-helmet'],
  ratelimit: ['plain', 'rl-redis', 'rl-memory', 'rl-batched'],
}
const group = process.argv[2] ?? 'headers'
const variants = GROUPS[group]
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const PORT = 16380
const REDIS_PORT = 16393

async function startServer(variant, port = PORT) {
  const child = spawn(process.execPath, ['server.mjs', variant, String(port), String(REDIS_PORT)], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => d.toString().includes('ready') && resolve())
    child.once('exit', (code) => reject(new Error(`${variant} exited ${code}`)))
  })
  return child
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString())
/** CPU time (user + system) a process has used, in ms: a cost per request that other load on the machine hardly moves. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
}

const load = (duration, port = PORT) => autocannon({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, duration })

async function headersOf(variant) {
  const child = await startServer(variant)
  const res = await fetch(`http://127.0.0.1:${PORT}/`)
  const bytes = (await res.arrayBuffer()).byteLength
  child.kill()
  await once(child, 'exit')
  const skip = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type'])
  return { bytes, headers: Object.fromEntries([...res.headers].filter(([k]) => !skip.has(k)).sort()) }
}

let redisPid
if (group === 'ratelimit') {
  await startRedis(REDIS_PORT)
  redisPid = Number(/process_id:(\d+)/.exec(execFileSync('redis-cli', ['-p', String(REDIS_PORT), 'info', 'server']).toString())[1])
}
try {
  if (group === 'headers') {
    const seen = {}
    for (const v of variants) seen[v] = await headersOf(v)
    console.log(`body ${seen.plain.bytes} bytes`)
    for (const v of variants) console.log(`${v}: ${Object.keys(seen[v].headers).length} headers`, JSON.stringify(seen[v].headers))
    const same = JSON.stringify(seen.precomputed.headers) === JSON.stringify(seen['fastify-helmet'].headers)
    console.log(`precomputed and @fastify/helmet headers identical (names and values): ${same}\n`)
  }
  const results = Object.fromEntries(variants.map((v) => [v, []]))
  const ports = Object.fromEntries(variants.map((v, i) => [v, PORT + 1 + i]))
  const children = []
  const pids = {}
  for (const v of variants) {
    const child = await startServer(v, ports[v])
    children.push(child)
    pids[v] = child.pid
  }
  try {
    for (const v of variants) await load(1, ports[v])
    for (let round = 0; round < ROUNDS; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length])
      const slices = Object.fromEntries(variants.map((v) => [v, []]))
      const cpu = Object.fromEntries(variants.map((v) => [v, 0]))
      const redisCpu = Object.fromEntries(variants.map((v) => [v, 0]))
      for (let s = 0; s < SECONDS; s++) {
        for (const v of order) {
          const before = cpuMs(pids[v])
          const redisBefore = redisPid ? cpuMs(redisPid) : 0
          const r = await load(1, ports[v])
          cpu[v] += cpuMs(pids[v]) - before
          if (redisPid) redisCpu[v] += cpuMs(redisPid) - redisBefore
          if (r.non2xx || r.errors) throw new Error(`${v}: ${r.non2xx} non-2xx, ${r.errors} errors`)
          slices[v].push(r)
        }
      }
      for (const v of order) {
        const rps = slices[v].reduce((a, r) => a + r.requests.total, 0) / SECONDS
        const p99 = median(slices[v].map((r) => r.latency.p99))
        const total = slices[v].reduce((a, r) => a + r.requests.total, 0)
        const cpuUs = (cpu[v] * 1000) / total
        const redisUs = (redisCpu[v] * 1000) / total
        results[v].push({ rps, p99, cpuUs, redisUs })
        console.log(
          `round ${round + 1} ${v}: ${Math.round(rps)} req/s, p99 ${p99} ms, server CPU ${cpuUs.toFixed(1)} µs/request` +
            (redisPid ? `, redis-server CPU ${redisUs.toFixed(1)} µs/request` : ''),
        )
      }
    }
  } finally {
    for (const c of children) c.kill()
  }
  const base = variants[0]
  const med = (v, k) => median(results[v].map((r) => r[k]))
  console.log(`\n${CONNECTIONS} connections, ${SECONDS} × 1 s per variant and round, interleaved, ${ROUNDS} rounds, medians; ratios to ${base}:`)
  for (const v of variants) {
    console.log(
      `  ${v.padEnd(15)} ${String(Math.round(med(v, 'rps'))).padStart(6)} req/s (${(med(v, 'rps') / med(base, 'rps')).toFixed(2)})` +
        `  p99 ${med(v, 'p99')} ms (${(med(v, 'p99') / med(base, 'p99')).toFixed(2)})` +
        `  server CPU ${med(v, 'cpuUs').toFixed(1)} µs/request (${(med(v, 'cpuUs') / med(base, 'cpuUs')).toFixed(2)})` +
        (redisPid ? `  + redis-server ${med(v, 'redisUs').toFixed(1)} µs/request` : ''),
    )
  }
} finally {
  if (group === 'ratelimit') stopRedis(REDIS_PORT)
}
