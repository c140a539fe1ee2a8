import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import autocannon from 'autocannon'

/** What the bench's parts share: ports, child processes, loads and their summaries. */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64)
export const KEY = 'bench-key-0123456789abcdef'

export const children: ChildProcess[] = []
export const out = (line = '') => process.stdout.write(`${line}\n`)

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export function start(command: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(child)
  return child
}

export async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 60_000
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

export interface Run {
  rps: number
  p50: number
  p99: number
  non2xx: number
  requests: number
}

export async function load(options: autocannon.Options): Promise<Run> {
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, headers: { authorization: `Bearer ${KEY}` }, ...options })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
    requests: result.requests.total,
  }
}

/** CPU milliseconds (user + system) a process has used so far (Linux: /proc/PID/stat, in 10 ms ticks). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
export const summarise = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
  requests: runs.reduce((n, r) => n + r.requests, 0),
})

/** A load, and the CPU the process `pid` spent per request answered meanwhile (µs). */
export async function loadWithCpu(pid: number | undefined, options: autocannon.Options): Promise<Run & { cpuUs: number }> {
  const before = pid === undefined ? 0 : cpuMs(pid)
  const run = await load(options)
  const spent = pid === undefined ? 0 : cpuMs(pid) - before
  return { ...run, cpuUs: (spent * 1000) / Math.max(1, run.requests) }
}
