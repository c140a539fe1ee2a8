import { spawn } from 'node:child_process'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { AppDeps } from '../../src/app.js'
import { type Config, type Env, loadConfig } from '../../src/config.js'
import { SANDBOX_ORGANIZATION_ID, SANDBOX_SECOND_ORGANIZATION_ID } from '../../src/sandbox/contacts.js'
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox.js'
import { buildServer } from '../../src/server.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export const ORG = SANDBOX_ORGANIZATION_ID
export const ORG2 = SANDBOX_SECOND_ORGANIZATION_ID

/** A Zoho Books sandbox on a free loopback port, closed when the test ends. */
export async function startSandbox(t: Teardown, options: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = createSandbox(options)
  await sandbox.listen(0)
  t.teardown(() => sandbox.close())
  return sandbox
}

/** Configuration pointing the real Zoho adapter at the sandbox, as an operator would. */
export function sandboxEnv(sandbox: Sandbox, env: Env = {}): Env {
  return { ...sandbox.creditgateEnv, LOG_LEVEL: 'silent', ...env }
}

/** Collects every log line the app writes, parsed. */
export function logCapture() {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line)
        lines.push(JSON.parse(line))
      }
      done()
    },
  })
  return { stream, lines, raw }
}

export interface TestApp {
  app: FastifyInstance
  config: Config
}

/** The real app against a sandbox, closed when the test ends. */
export async function startApp(
  t: Teardown,
  sandbox: Sandbox,
  options: { env?: Env; deps?: Partial<AppDeps>; logs?: ReturnType<typeof logCapture> } = {},
): Promise<TestApp> {
  const config = loadConfig(sandboxEnv(sandbox, options.env))
  // Under tests the rules validator's worker compiles TypeScript as it starts: on a loaded machine
  // that can take longer than Fastify's default 10 s plugin timeout.
  const app = await buildServer(config, { deps: options.deps, logStream: options.logs?.stream, pluginTimeoutMs: 120_000 })
  t.teardown(() => app.close())
  await app.ready()
  return { app, config }
}

/**
 * The built service (dist/server.js) in a process of its own, as it runs in production: the test
 * runner's coverage instrumentation slows whatever runs inside it several times over. Killed when
 * the test ends; its base URL.
 */
export async function startBuiltService(t: Teardown, env: Env): Promise<string> {
  const { NODE_V8_COVERAGE: _, ...inherited } = process.env
  const child = spawn(process.execPath, ['dist/server.js'], {
    env: { ...inherited, ...env, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk
  })
  const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/
  await eventually(() => listening.test(output), 'the server to listen', 20_000)
  return listening.exec(output)?.[1] as string
}

/** The numbers of a Prometheus text exposition, by series (`name` or `name{labels}`). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!/^[a-z]/.test(line)) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

/** A series' value (`name` or `name{labels}`) in the app's /metrics. */
export async function metricValue(app: FastifyInstance, series: string): Promise<number | undefined> {
  return parseMetrics((await app.inject({ url: '/metrics' })).body).get(series)
}

/**
 * Adds n contacts to the sandbox's default organization, copies of 460000000031001 with ids
 * `prefix` + 13 digits and `fields(i)` on top; returns their ids.
 */
export function addContacts(
  sandbox: Sandbox,
  n: number,
  prefix: string,
  fields: (i: number) => Record<string, unknown> = () => ({}),
): string[] {
  const contacts = sandbox.organizations.get(ORG) as Map<string, Record<string, unknown>>
  const template = contacts.get('460000000031001') as Record<string, unknown>
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}${String(i).padStart(13, '0')}`
    contacts.set(id, { ...template, contact_id: id, ...fields(i) })
    return id
  })
}

/** Polls until check() is true, or fails after the deadline. No fixed sleeps. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const PROBLEM_KEYS = ['code', 'detail', 'request_id', 'status', 'title', 'type']

/** Asserts a problem+json answer and returns its body. */
export function problem(
  t: Test,
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  t.equal(res.statusCode, status, `status ${status}`)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  const body = res.json() as Record<string, unknown>
  t.same(Object.keys(body).sort(), PROBLEM_KEYS)
  t.equal(body.code, code)
  t.equal(body.status, status)
  t.equal(body.type, `/problems/${code}`)
  t.equal(body.request_id, res.headers['x-request-id'])
  return body
}

/**
 * A rules folder with the shipped rules that read only the contact (no receivables facts): an
 * app with it makes no listing calls, so tests can count Zoho contact calls against a budget.
 */
export async function contactOnlyRules(t: { testdir(files: Record<string, string>): string }): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  const files: Record<string, string> = {}
  for (const name of ['outstanding-over-50000.json', 'inactive-contact.json', 'apply-unused-credits.json']) {
    files[name] = await readFile(`rules/${name}`, 'utf8')
  }
  return t.testdir(files)
}

/** The shipped rules, by name (a rule file is `rules/<name>.json`), in file order. */
export const SHIPPED_RULES = [
  'apply-unused-credits',
  'credit-limit-exceeded',
  'credit-limit-expired',
  'credit-review-overdue',
  'inactive-contact',
  'manual-credit-hold',
  'outstanding-over-50000',
  'overdue-over-30-days',
  'overdue-over-90-days',
  'pays-late',
  'utilization-over-80',
] as const

/**
 * A rules folder with the shipped rules except those reading payment facts: an app with it lists
 * open invoices and sales orders but never paid invoices, so tests can count receivables listings.
 */
export async function withoutPaymentRules(t: { testdir(files: Record<string, string>): string }): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  const files: Record<string, string> = {}
  for (const name of SHIPPED_RULES.filter((n) => n !== 'pays-late')) files[`${name}.json`] = await readFile(`rules/${name}.json`, 'utf8')
  return t.testdir(files)
}
