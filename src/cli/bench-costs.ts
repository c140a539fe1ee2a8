import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { freePort, KEY, loadWithCpu, median, out, ROUNDS, start, waitFor } from './bench-lib.js'

/**
 * The cost table: what each production feature adds to a cached decision's CPU. creditgate with
 * none of them, then with each switched on in turn on top of the ones before (the last row is
 * production, with a shadow set); beside them the bare route. Every server runs at once, each
 * loaded in turn, round after round; a row's figure is the CPU the server process spent per
 * answered request (/proc, user + system), which the load generator sharing the cores does not
 * blur as much as requests per second. bench-server.ts turns off what has no setting of its own.
 */
export interface CostSetup {
  /** The sandbox's and Redis's settings, as the bench's main service has them. */
  readonly env: Record<string, string>
  /** The file holding a cached decision's body, for the bare route. */
  readonly bodyFile: string
  readonly path: string
  readonly seconds: number
}

const STEPS: readonly { name: string; env: Record<string, string> }[] = [
  {
    name: 'creditgate, no production feature',
    env: { BENCH_OFF: 'metrics,history', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn', RULES_VERIFY_SAMPLE: '0' },
  },
  { name: '+ API keys', env: { API_KEYS: `bench:${KEY}` } },
  { name: '+ rate limit', env: { RATE_LIMIT_PER_MINUTE: '1000000' } },
  { name: '+ decision log line', env: { LOG_LEVEL: 'info' } },
  { name: '+ metrics', env: { BENCH_OFF: 'history' } },
  { name: '+ history record', env: { BENCH_OFF: '' } },
  { name: '+ verify sample (1 %)', env: { RULES_VERIFY_SAMPLE: '0.01' } },
  { name: '+ shadow rules (production)', env: { RULES_SHADOW_DIR: 'rules' } },
]

export async function costTable(setup: CostSetup): Promise<void> {
  const servers: { name: string; child: ChildProcess; url: string }[] = []
  const barePort = await freePort()
  const bare = start(process.execPath, ['dist/cli/bench-bare.js'], { PORT: String(barePort), BENCH_BODY_FILE: setup.bodyFile })
  servers.push({ name: 'bare fastify, same body', child: bare, url: `http://127.0.0.1:${barePort}` })
  let env: Record<string, string> = { ...setup.env, API_KEYS: '' }
  for (const [i, step] of STEPS.entries()) {
    env = { ...env, ...step.env }
    const port = await freePort()
    // BENCH_CPU_PROF=DIR: the production server writes its CPU profile there when the table is done.
    const profile =
      process.env.BENCH_CPU_PROF && i === STEPS.length - 1 ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
    const child = start(process.execPath, [...profile, 'dist/cli/bench-server.js'], { ...env, PORT: String(port) })
    servers.push({ name: step.name, child, url: `http://127.0.0.1:${port}` })
    // One at a time: several starting at once on a busy machine outlast fastify's plugin timeout.
    await waitFor(`http://127.0.0.1:${port}/healthz`)
  }
  await waitFor(`${servers[0]?.url}/x`)
  for (const s of servers) await loadWithCpu(undefined, { url: `${s.url}${setup.path}`, duration: 2 }) // warm-up
  const cpu = servers.map(() => [] as number[])
  const rps = servers.map(() => [] as number[])
  const p99 = servers.map(() => [] as number[])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, s] of servers.entries()) {
      const run = await loadWithCpu(s.child.pid, { url: `${s.url}${setup.path}`, duration: setup.seconds })
      if (run.non2xx > 0) throw new Error(`${s.name}: ${run.non2xx} answers were not 2xx`)
      cpu[i]?.push(run.cpuUs)
      rps[i]?.push(run.rps)
      p99[i]?.push(run.p99)
    }
  }
  // The least a server spent in a round: what the others on the machine add is never negative.
  const us = cpu.map((runs) => Math.min(...runs))
  const full = us.at(-1) as number
  const spread = (values: number[]) => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`
  out(
    `What each production feature costs a cached decision (${ROUNDS} rounds of ${setup.seconds} s, all servers up at once; CPU: the least of the rounds, and their spread; req/s and p99: medians):`,
  )
  out()
  out('| server | CPU µs per decision (spread) | added by the row | share of a production decision | req/s | p99 ms |')
  out('|---|---:|---:|---:|---:|---:|')
  for (const [i, s] of servers.entries()) {
    // The bare route's own cost is the floor every decision pays; each row after it adds to the one before.
    const added = (us[i] as number) - (i === 0 ? 0 : (us[i - 1] as number))
    out(
      `| ${s.name} | ${(us[i] as number).toFixed(0)} (${spread(cpu[i] as number[])}) | ${added.toFixed(0)} | ${((100 * added) / full).toFixed(1)} % | ${median(rps[i] as number[]).toFixed(0)} | ${median(p99[i] as number[]).toFixed(0)} |`,
    )
  }
  out()
  out(`production ÷ bare CPU per decision: ${(full / (us[0] as number)).toFixed(2)}`)
  out()
  await Promise.all(
    servers.map(async (s) => {
      s.child.kill('SIGTERM')
      if (s.child.exitCode === null) await once(s.child, 'exit')
    }),
  )
}
