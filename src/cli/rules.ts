import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { FixtureFileSchema, prepareRuleSetFrom } from '../rules/fixtures.js'
import { compileRuleSet } from '../rules/rule-set.js'
import { RuleFileSchema } from '../rules/schema.js'
import { readRulesFolder } from '../rules/sources.js'

/**
 * npm run rules:check [dir]  validate every rule file
 * npm run rules:test [dir]   validate, then run the fixtures in dir/tests
 * npm run rules:schema       write rules/rule.schema.json and rules/fixture.schema.json
 */
export const JSON_SCHEMAS = {
  'rule.schema.json': RuleFileSchema,
  'fixture.schema.json': FixtureFileSchema,
} as const

export const jsonSchemaText = (schema: z.ZodType) => `${JSON.stringify(z.toJSONSchema(schema, { io: 'input' }), null, 2)}\n`

const out = (line = '') => process.stdout.write(`${line}\n`)

export async function main(command: string | undefined, dir = 'rules'): Promise<number> {
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
      out('usage: rules.js check|test|schema [dir]')
      return 2
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv[2], process.argv[3])
}
