import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { DECISIONS } from '../domain/decision.js'
import { compileRuleSet } from '../rules/rule-set.js'
import { RuleFileSchema } from '../rules/schema.js'
import type { Comparison } from '../services/rule-sets/compare.js'
import { FixtureFileSchema, prepareRuleSetFrom } from '../services/rule-sets/fixtures.js'
import { readRulesFolder } from '../services/rule-sets/sources.js'

/**
 * npm run rules:check [dir]  validate every rule file
 * npm run rules:test [dir]   validate, then run the fixtures in dir/tests
 * npm run rules:schema       write rules/rule.schema.json and rules/fixture.schema.json
 * npm run rules:backtest [dir] [--since 24h] [--until …] [--limit N]
 *                            the set in dir on the decisions a running creditgate recorded
 *                            (POST /rules/backtest; CREDITGATE_URL, CREDITGATE_ADMIN_KEY)
 * --organization ID          check, test or backtest the set that decides for that organization:
 *                            dir/ID/ when it exists (its extends.json included), else dir itself
 */
export const JSON_SCHEMAS = {
  'rule.schema.json': RuleFileSchema,
  'fixture.schema.json': FixtureFileSchema,
} as const

export const jsonSchemaText = (schema: z.ZodType) => `${JSON.stringify(z.toJSONSchema(schema, { io: 'input' }), null, 2)}\n`

const out = (line = '') => process.stdout.write(`${line}\n`)
const ORGANIZATION = /^[1-9]\d{0,18}$/

/** The folder of the set that decides for the organization: its own, else the shared one (said so). */
export function folderFor(dir: string, org: string | undefined, print: (line?: string) => void = out): string {
  if (org === undefined) return dir
  const own = join(dir, org)
  if (existsSync(own)) return own
  print(`${own} does not exist: the shared set in ${dir} decides for organization ${org}`)
  return dir
}

export async function main(command: string | undefined, shared = 'rules', org?: string): Promise<number> {
  if (org !== undefined && !ORGANIZATION.test(org)) {
    out(`--organization ${org}: a Zoho organization id is 1 to 19 digits`)
    return 2
  }
  const dir = command === 'schema' ? shared : folderFor(shared, org)
  switch (command) {
    case 'check': {
      const folder = await readRulesFolder(dir)
      const compiled = folder.errors.length > 0 ? { ok: false as const, errors: folder.errors } : compileRuleSet(folder.rules)
      if (!compiled.ok) {
        for (const e of compiled.errors) out(`✗ ${e.file} ${e.path}: ${e.message}`)
        out(`\n${compiled.errors.length} error(s) in ${dir}: nothing would go live`)
        return 1
      }
      for (const rule of compiled.ruleSet.rules) out(`✓ ${rule.file}  ${rule.type} ${rule.definition.event.params.code}`)
      out(`\n${compiled.ruleSet.rules.length} rules OK, version ${compiled.ruleSet.version}`)
      return 0
    }
    case 'test': {
      const prepared = await prepareRuleSetFrom(dir)
      if (!prepared.ok && !prepared.ruleSet) {
        for (const e of prepared.errors) out(`✗ ${e.file} ${e.path}: ${e.message}`)
        out(`\n${prepared.errors.length} error(s) in ${dir}: fixtures not run`)
        return 1
      }
      for (const f of prepared.fixtures.failures) out(`✗ ${f.file} "${f.case}": ${f.message}`)
      const { passed, failures } = prepared.fixtures
      out(`\n${passed} passed, ${failures.length} failed${failures.length > 0 ? ': the rules would not go live' : ''}`)
      return prepared.ok ? 0 : 1
    }
    case 'schema': {
      for (const [file, schema] of Object.entries(JSON_SCHEMAS)) {
        await writeFile(join(dir, file), jsonSchemaText(schema))
        out(`wrote ${join(dir, file)}`)
      }
      return 0
    }
    default:
      out('usage: rules.js check|test|schema|backtest [dir] [--organization ID] [--since 24h] [--until 1h] [--limit 100000]')
      return 2
  }
}

const pad = (value: unknown, width: number) => String(value).padStart(width)

/**
 * Backtests the rule files in a folder against a running creditgate: sends them to its
 * POST /rules/backtest with an admin key (CREDITGATE_ADMIN_KEY) at CREDITGATE_URL (default
 * http://127.0.0.1:$PORT, PORT 3000), and prints the outcome matrix, the rules and the examples.
 */
export async function backtest(
  args: readonly string[],
  env: Record<string, string | undefined> = process.env,
  print: (line?: string) => void = out,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' }, organization: { type: 'string' } },
  })
  if (values.organization !== undefined && !ORGANIZATION.test(values.organization)) {
    print(`--organization ${values.organization}: a Zoho organization id is 1 to 19 digits`)
    return 2
  }
  const dir = folderFor(positionals[0] ?? 'rules', values.organization, print)
  const base = env.CREDITGATE_URL ?? `http://127.0.0.1:${env.PORT ?? 3000}`
  const key = env.CREDITGATE_ADMIN_KEY
  if (!key) {
    print('set CREDITGATE_ADMIN_KEY to an admin key of the service (one of its ADMIN_API_KEYS)')
    return 2
  }
  const folder = await readRulesFolder(dir)
  if (folder.errors.length > 0) {
    for (const e of folder.errors) print(`✗ ${e.file} ${e.path}: ${e.message}`)
    return 1
  }
  const body = {
    ...(values.organization ? { organization_id: values.organization } : {}),
    rules: folder.rules,
    ...(values.since ? { since: values.since } : {}),
    ...(values.until ? { until: values.until } : {}),
    ...(values.limit ? { limit: Number(values.limit) } : {}),
  }
  let res: Response
  try {
    res = await fetch(`${base}/rules/backtest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  } catch (err) {
    print(`cannot reach creditgate at ${base}: ${(err as Error).message}`)
    return 1
  }
  const answer = (await res.json()) as Comparison & { detail?: string }
  if (!res.ok) {
    print(`✗ ${res.status}: ${answer.detail ?? 'the backtest failed'}`)
    return 1
  }
  const whose = values.organization ? ` of organization ${values.organization}` : ''
  print(`${dir} on ${answer.evaluated + answer.not_comparable} recorded decisions${whose}${values.since ? ` since ${values.since}` : ''}:`)
  print(
    `  ${answer.evaluated} evaluated, ${answer.changed} would change, ${answer.not_comparable} not comparable (facts the set reads were not recorded)`,
  )
  print()
  print(`  before \\ after ${pad('allow', 8)} ${pad('review', 8)} ${pad('block', 8)}`)
  for (const before of DECISIONS) {
    const row = answer.matrix[before]
    print(`  ${before.padEnd(14)} ${pad(row.allow, 8)} ${pad(row.review, 8)} ${pad(row.block, 8)}`)
  }
  print()
  print(`  ${'rule'.padEnd(40)} ${pad('fired before', 12)} ${pad('after', 8)}`)
  for (const r of answer.rules) {
    print(`  ${r.name.padEnd(40)} ${pad(r.fired_before, 12)} ${pad(r.fired_after, 8)}${r.fired_before === r.fired_after ? '' : '  ←'}`)
  }
  if (answer.examples.length > 0) {
    print()
    print(`  changed decisions (${answer.examples.length} of ${answer.changed}, newest first):`)
    for (const e of answer.examples) {
      print(`  ${e.decision_id}  contact ${e.contact_id}  ${e.before} → ${e.after}  ${e.reasons_after.map((r) => r.code).join(', ')}`)
    }
  }
  return 0
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [command, ...rest] = process.argv.slice(2)
  if (command === 'backtest') process.exitCode = await backtest(rest)
  else {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { organization: { type: 'string' } } })
    process.exitCode = await main(command, positionals[0], values.organization)
  }
}
