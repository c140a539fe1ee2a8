import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startApp, startSandbox } from '../helpers/app.js'

/**
 * The alerting rules in ops/prometheus/alerts.yml name metrics as /metrics exposes them: an alert
 * on a metric the service does not have never fires, and promtool cannot tell.
 */
const RULES = fileURLToPath(new URL('../../ops/prometheus/alerts.yml', import.meta.url))
const ALERTS = readFileSync(RULES, 'utf8')
const RULE_TESTS = fileURLToPath(new URL('../../ops/prometheus/alerts.test.yml', import.meta.url))

interface Alert {
  name: string
  expr: string
}

/** Each rule's alert name and PromQL expression (inline or a YAML block scalar). */
function alertsOf(yaml: string): Alert[] {
  const alerts: Alert[] = []
  const lines = yaml.split('\n')
  let name = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const alert = /^\s*- alert:\s*(\S+)\s*$/.exec(line)
    if (alert) name = alert[1] as string
    const expr = /^(\s*)expr:\s*(.*)$/.exec(line)
    if (!expr) continue
    const indent = (expr[1] as string).length
    let text = expr[2] as string
    if (/^[>|][-+]?$/.test(text)) {
      const block: string[] = []
      while (i + 1 < lines.length) {
        const next = lines[i + 1] as string
        if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break
        block.push(next.trim())
        i++
      }
      text = block.join(' ')
    }
    alerts.push({ name, expr: text })
  }
  return alerts
}

/** Metric names in an expression: identifiers before a selector, a range or an operator, not label names or functions. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  return [...new Set(withoutStrings.match(/\bcreditgate_[a-z0-9_]+\b/g) ?? [])]
}

/** Names absent from /metrics: a name must have a `# TYPE` line, or be a histogram's _bucket/_count/_sum. */
function missingFrom(exposition: string, names: string[]): string[] {
  const types = new Map<string, string>()
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1] as string, m[2] as string)
  return names.filter((name) => {
    if (types.has(name)) return false
    const series = /^(.+)_(bucket|count|sum)$/.exec(name)
    const base = series && types.get(series[1] as string)
    return !(base === 'histogram' || (base === 'summary' && series?.[2] !== 'bucket'))
  })
}

const alerts = alertsOf(ALERTS)
const names = [...new Set(alerts.flatMap((a) => metricNames(a.expr)))].sort()

t.test('promtool: the rules are valid and their unit tests pass (each alert firing and not)', async (t) => {
  // promtool comes with Debian's prometheus package (scripts/preflight.mjs says so when it is missing).
  const run = (...args: string[]) => {
    const res = spawnSync('promtool', args, { encoding: 'utf8' })
    t.equal(res.status, 0, `promtool ${args.join(' ')}\n${res.stdout}${res.stderr}`)
    return res.stdout
  }
  t.match(run('check', 'rules', RULES), /SUCCESS: \d+ rules found/)
  t.match(run('test', 'rules', RULE_TESTS), /SUCCESS/)
})

t.test('alerts.yml is read: every alert with its expression', async (t) => {
  t.equal(alerts.length, ALERTS.match(/^\s*- alert:/gm)?.length, 'an expression for every alert')
  t.ok(alerts.length >= 8)
  for (const a of alerts) {
    t.ok(metricNames(a.expr).length > 0, `${a.name} names a metric`)
    t.notMatch(a.expr, /\b(for|labels|annotations|severity):/, `${a.name}: the expression ends where it should`)
  }
  t.ok(names.includes('creditgate_http_request_duration_seconds_bucket'), 'histogram series are among the names')
})

t.test('every metric an alert uses is in /metrics', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox)
  // A couple of decisions, and the probes the alerts leave out, so their series exist too.
  t.equal((await app.inject({ url: '/contacts/460000000026049/risk' })).statusCode, 200)
  t.equal((await app.inject({ url: '/contacts/460000000031001/risk?order_amount=100' })).statusCode, 200)
  for (const url of ['/healthz', '/readyz', '/metrics']) t.equal((await app.inject({ url })).statusCode, 200, url)
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  const exposition = res.body

  t.same(missingFrom(exposition, names), [], 'no alert names a metric /metrics lacks')
  // The check itself: a name that is not there is reported, and so is a suffix on a counter.
  t.same(
    missingFrom(exposition, [
      'creditgate_rules_verify_agreements_total',
      'creditgate_zoho_calls_total_count',
      'creditgate_redis_degraded',
      'creditgate_rules_verify_disagreements_total',
    ]),
    ['creditgate_rules_verify_agreements_total', 'creditgate_zoho_calls_total_count'],
  )

  // Route labels the alerts match on are the ones the service writes.
  const routes = new Set([...exposition.matchAll(/route="([^"]*)"/g)].map((m) => m[1]))
  const named = alerts.flatMap((a) => [...a.expr.matchAll(/route[!=]~?"([^"]*)"/g)].flatMap((m) => (m[1] as string).split('|')))
  t.ok(named.length > 0, 'the alerts match on routes')
  for (const route of new Set(named)) t.ok(routes.has(route), `route label ${route} exists`)
  // and so are the ones the promtool unit tests feed the alerts.
  const tests = readFileSync(RULE_TESTS, 'utf8')
  for (const route of new Set([...tests.matchAll(/route="([^"]*)"/g)].map((m) => m[1]))) {
    t.ok(routes.has(route), `alerts.test.yml: route label ${route} exists`)
  }
})
