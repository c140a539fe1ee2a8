import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { JSON_SCHEMAS, jsonSchemaText } from '../../src/cli/rules.js'
import { compileRuleSet } from '../../src/rules/rule-set.js'
import { reviewRule } from '../helpers/rules.js'

/** What rule-set validation says about each mistake, and the JSON Schemas published for editors. */

t.test('validation speaks to operators', async (t) => {
  const base = reviewRule(1)
  const cases: [string, unknown, RegExp, string][] = [
    [
      'unknown fact',
      { ...base, conditions: { all: [{ fact: 'outstandng_bcy', operator: 'greaterThan', value: 1 }] } },
      /unknown fact "outstandng_bcy"/,
      '$.conditions.all[0].fact',
    ],
    [
      'unknown path',
      { ...base, conditions: { all: [{ fact: 'contact', path: '$.payment_trems', operator: 'equal', value: 30 }] } },
      /unknown contact field "payment_trems"/,
      '$.conditions.all[0].path',
    ],
    [
      'an object fact without a path',
      { ...base, conditions: { all: [{ fact: 'contact', operator: 'equal', value: 1 }] } },
      /add a "path"/,
      '$.conditions.all[0].fact',
    ],
    [
      'a path on a single value',
      { ...base, conditions: { all: [{ fact: 'status', path: '$.x', operator: 'equal', value: 'x' }] } },
      /takes no "path"/,
      '$.conditions.all[0].path',
    ],
    [
      'unknown operator',
      { ...base, conditions: { all: [{ fact: 'status', operator: 'equals', value: 'inactive' }] } },
      /unknown operator "equals"/,
      '$.conditions.all[0].operator',
    ],
    [
      'a quoted number',
      { ...base, conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: '50,000' }] } },
      /needs a number/,
      '$.conditions.all[0].value',
    ],
    [
      'a number for a text fact',
      { ...base, conditions: { all: [{ fact: 'status', operator: 'equal', value: 1 }] } },
      /"status" is a string, but the value is a number/,
      '$.conditions.all[0].value',
    ],
    [
      'greaterThan on text',
      { ...base, conditions: { all: [{ fact: 'status', operator: 'greaterThan', value: 1 }] } },
      /compares numbers/,
      '$.conditions.all[0].operator',
    ],
    [
      'in without a list',
      { ...base, conditions: { all: [{ fact: 'status', operator: 'in', value: 'active' }] } },
      /needs a list/,
      '$.conditions.all[0].value',
    ],
    [
      'nested deep',
      { ...base, conditions: { any: [{ not: { all: [{ fact: 'nope', operator: 'equal', value: 1 }] } }] } },
      /unknown fact "nope"/,
      '$.conditions.any[0].not.all[0].fact',
    ],
    [
      'unknown event type',
      { ...base, event: { type: 'deny', params: { code: 'X1', message: 'm' } } },
      /unknown event type "deny"/,
      '$.event.type',
    ],
    ['missing code', { ...base, event: { type: 'block', params: { message: 'm' } } }, /expected string/, '$.event.params.code'],
    ['missing message', { ...base, event: { type: 'block', params: { code: 'X1' } } }, /expected string/, '$.event.params.message'],
    [
      'a message quoting an unknown fact',
      { ...base, event: { type: 'block', params: { code: 'X1', message: '{{balance}}' } } },
      /\{\{balance\}\} is not a fact/,
      '$.event.params.message',
    ],
    ['an unknown key', { ...base, conditons: {} }, /unknown key "conditons"/, '$'],
    ['an empty condition list', { ...base, conditions: { all: [] } }, /too small|>=1/i, '$.conditions.all'],
  ]
  for (const [what, content, message, path] of cases) {
    const compiled = compileRuleSet([{ file: 'r.json', content }])
    t.notOk(compiled.ok, what)
    if (compiled.ok) continue
    t.equal(compiled.errors.length, 1, `${what}: one error`)
    t.match(compiled.errors[0], { file: 'r.json', path, message }, what)
  }
  const dupes = compileRuleSet([
    { file: 'a.json', content: base },
    { file: 'b.json', content: base },
  ])
  t.same(dupes, {
    ok: false,
    errors: [{ file: 'b.json', path: '$.name', message: 'rule name "large-order-review" is also used by a.json' }],
  })
  const empty = compileRuleSet([])
  t.equal(empty.ok, false)
  if (!empty.ok) {
    t.equal(empty.errors.length, 1)
    t.match(empty.errors[0], { message: /empty set would allow every order/ })
  }
})

t.test('the published JSON Schemas match the zod schemas (npm run rules:schema)', async (t) => {
  for (const [file, schema] of Object.entries(JSON_SCHEMAS)) {
    t.equal(await readFile(join('rules', file), 'utf8'), jsonSchemaText(schema), `rules/${file} is up to date`)
  }
})
