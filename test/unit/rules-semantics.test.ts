import fc from 'fast-check'
import { Engine, type RuleResult } from 'json-rules-engine'
import t from 'tap'
import type { Facts } from '../../src/domain/facts.js'
import type { OperatorName } from '../../src/rules/catalogue.js'
import { createEngine, summarise } from '../../src/rules/reference.js'
import {
  COMPARISONS,
  checkComplete,
  EvaluationError,
  formatFact,
  pathSteps,
  resolvePath,
  traceCondition,
} from '../../src/rules/semantics.js'
import { ruleSetOf } from '../helpers/rules.js'

/**
 * What the compiled rules and the json-rules-engine reference share, so that the differential test
 * cannot see a mistake in it: the ten operators, path look-ups, the completeness check, how values
 * are written in messages and traces. Each is pinned here on its own, the operators against
 * json-rules-engine's stock operators wherever those are defined.
 */

/** json-rules-engine's own operator (a fresh Engine without ours), on one fact value and one value. */
async function stock(operator: OperatorName, factValue: unknown, value: unknown): Promise<boolean> {
  const engine = new Engine([{ conditions: { all: [{ fact: 'a', operator, value }] }, event: { type: 'x' } }])
  const { results } = await engine.run({ a: factValue })
  return results.length === 1
}

const number = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e-9),
)
const scalar = fc.oneof(number, fc.string({ maxLength: 3 }), fc.boolean(), fc.constant(null))

t.test('the operators agree with json-rules-engine’s own wherever those are defined', async (t) => {
  type Pairs = fc.Arbitrary<readonly [unknown, unknown]>
  const twice = (values: fc.Arbitrary<unknown>): Pairs =>
    fc.oneof(
      fc.tuple(values, values),
      values.map((v) => [v, v] as const),
    )
  /** A list and a value that is in it for odd lengths (so both outcomes come up). */
  const listAnd = (order: 'value first' | 'list first'): Pairs =>
    fc.tuple(scalar, fc.array(scalar, { maxLength: 4 })).map(([v, list]) => {
      const withIt = list.length % 2 ? [...list, v] : list
      return order === 'value first' ? ([v, withIt] as const) : ([withIt, v] as const)
    })
  const cases: [OperatorName, Pairs][] = [
    ['lessThan', twice(number)],
    ['lessThanInclusive', twice(number)],
    ['greaterThan', twice(number)],
    ['greaterThanInclusive', twice(number)],
    ['equal', twice(scalar)],
    ['notEqual', twice(scalar)],
    ['in', listAnd('value first')],
    ['notIn', listAnd('value first')],
    ['contains', listAnd('list first')],
    ['doesNotContain', listAnd('list first')],
  ]
  for (const [operator, pairs] of cases) {
    await t.resolves(
      fc.assert(
        fc.asyncProperty(pairs, async ([a, b]) => COMPARISONS[operator](a, b) === (await stock(operator, a, b))),
        { numRuns: 200 },
      ),
      `${operator}: 200 generated cases`,
    )
  }
})

t.test('where json-rules-engine’s numeric operators coerce, ours are false', async (t) => {
  t.equal(await stock('greaterThan', 63400, null), true, 'json-rules-engine: 63400 > null (every contact without a credit limit)')
  const falseCases: [OperatorName, unknown, unknown][] = [
    ['greaterThan', 63400, null],
    ['greaterThanInclusive', 0, null],
    ['lessThan', null, 1],
    ['lessThanInclusive', undefined, 1],
    ['greaterThan', '100', 1],
    ['lessThan', 1, '100'],
    ['greaterThan', Number.POSITIVE_INFINITY, 1],
    ['lessThan', Number.NEGATIVE_INFINITY, 0],
    ['lessThanInclusive', 1, Number.POSITIVE_INFINITY],
    ['greaterThanInclusive', Number.NaN, Number.NaN],
    ['in', 1, null],
    ['in', 'a', 'abc'],
    ['notIn', 1, 'abc'],
    ['notIn', 1, undefined],
    ['contains', 'abc', 'a'],
    ['contains', null, 1],
    ['doesNotContain', 'abc', 'z'],
    ['doesNotContain', null, 1],
  ]
  for (const [operator, a, b] of falseCases) t.equal(COMPARISONS[operator](a, b), false, `${operator}(${String(a)}, ${String(b)})`)
  t.same(
    [
      COMPARISONS.lessThan(1, 1),
      COMPARISONS.lessThanInclusive(1, 1),
      COMPARISONS.greaterThan(1, 1),
      COMPARISONS.greaterThanInclusive(1, 1),
    ],
    [false, true, false, true],
    'the boundary',
  )
})

t.test('paths: dots and indexes of any length, own properties only', async (t) => {
  t.strictSame(pathSteps('$.a.b_2[12].c'), ['a', 'b_2', 12, 'c'])
  const contact = { a: { b_2: Array.from({ length: 13 }, (_, i) => ({ c: i })) }, n: null }
  t.equal(resolvePath(contact, '$.a.b_2[12].c'), 12)
  t.equal(resolvePath(contact, '$.a.b_2[13].c'), undefined)
  t.equal(resolvePath(contact, '$.a.toString'), undefined, 'not an own property')
  t.equal(resolvePath(contact, '$.n.x'), undefined, 'through null')
  t.equal(resolvePath('text', '$.length'), undefined, 'through a string')
})

/** The error a call throws (t.throws matches messages as substrings: these must be exact). */
function thrown(call: () => unknown): unknown {
  try {
    call()
  } catch (err) {
    return err
  }
  return 'nothing thrown'
}

/** Rules that fire on anything outstanding; "watch" is an alert, the others block. */
const ruleSet = (...names: string[]) =>
  ruleSetOf(
    names.map((name) => ({
      name,
      conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 1 }] },
      type: name === 'watch' ? 'alert' : 'block',
      code: name.toUpperCase(),
      message: '{{outstanding_bcy}} owed',
    })),
  )

t.test('an evaluation is complete only with one result per rule, in the set’s order', async (t) => {
  const set = ruleSet('first', 'second')
  t.doesNotThrow(() => checkComplete(set, ['first', 'second']))
  const cases: [string[], string][] = [
    [['first'], '1 results for 2 rules; rule second has none'],
    [['second', 'first'], '2 results for 2 rules; rule first has none'],
    [['first', 'second', 'second'], '3 results for 2 rules'],
    [[], '0 results for 2 rules; rule first has none'],
  ]
  for (const [evaluated, message] of cases) {
    t.strictSame(
      thrown(() => checkComplete(set, evaluated)),
      new EvaluationError(message),
      evaluated.join() || 'none',
    )
  }
})

const facts = { outstanding_bcy: 62400 } as Facts
const result = (name: string, outcome: unknown) =>
  ({ name, result: outcome, conditions: { all: [] }, event: {}, priority: 1 }) as unknown as RuleResult

t.test('json-rules-engine’s results: exactly one definite result per rule, or EvaluationError', async (t) => {
  const set = ruleSet('first', 'watch')
  t.strictSame(summarise(set, facts, [result('watch', true), result('first', false)]), {
    decision: 'allow',
    reasons: [],
    alerts: [{ rule: 'watch', code: 'WATCH', message: '62,400.00 owed' }],
    fired: ['watch'],
    evaluated: ['first', 'watch'],
  })
  t.strictSame(
    thrown(() => summarise(set, facts, [result('first', true), result('first', false), result('watch', true)])),
    new EvaluationError('rule first produced two results'),
  )
  t.strictSame(
    thrown(() => summarise(set, facts, [result('first', true)])),
    new EvaluationError('rule watch produced no result (1 of 2 rules did)'),
  )
  t.strictSame(
    thrown(() => summarise(set, facts, [result('first', true), result('watch', undefined)])),
    new EvaluationError('rule watch produced no result (2 of 2 rules did)'),
  )
})

t.test('the reference engine refuses a fact it was not given, rather than reading it as undefined', async (t) => {
  const set = ruleSet('first')
  await t.rejects(createEngine(set).run({}), { message: 'Undefined fact: outstanding_bcy' })
  const given = await createEngine(set).run({ outstanding_bcy: undefined })
  t.same(
    given.failureResults.map((r) => r.name),
    ['first'],
    'a fact given, even undefined, is compared (and is not greater than 1)',
  )
})

t.test('values as people read them', async (t) => {
  t.strictSame(
    [
      formatFact('credit_limit', null),
      formatFact('credit_limit', undefined),
      formatFact('outstanding_bcy', 62400),
      formatFact('overdue_invoices', 7),
      formatFact('not_a_fact', 1234.5),
      formatFact('contact_name', 'Acme'),
      formatFact('custom_fields', { cf_hold: true }),
    ],
    ['none', 'missing', '62,400.00', '7', '1234.5', 'Acme', '{"cf_hold":true}'],
  )
})

t.test('a comparison in the trace: the values it saw, written out', async (t) => {
  t.strictSame(
    traceCondition({ fact: 'contact', path: '$.payment_terms_label', operator: 'equal', value: 'Hold' }, 'all[0]', {
      factResult: 'Net 30',
      valueResult: 'Hold',
      result: false,
    }),
    {
      at: 'all[0]',
      fact: 'contact',
      path: '$.payment_terms_label',
      operator: 'equal',
      value: 'Hold',
      fact_value: 'Net 30',
      compared_with: 'Hold',
      result: false,
      text: 'contact $.payment_terms_label (Net 30) equal Hold → false',
    },
  )
  const reference = { fact: 'outstanding_bcy', operator: 'greaterThan', value: { fact: 'credit_limit' } } as const
  t.strictSame(
    traceCondition(reference, 'any[1]', { factResult: 62400, valueResult: 50000, result: true }).text,
    'outstanding_bcy (62,400.00) greaterThan credit_limit (50,000.00) → true',
  )
  t.strictSame(
    traceCondition({ fact: 'order_amount', operator: 'greaterThan', value: { fact: 'contact', path: '$.x' } }, 'all[0]', {
      factResult: 5,
      valueResult: 'y',
      result: false,
    }).text,
    'order_amount (5.00) greaterThan contact $.x (y) → false',
  )
  const missing = traceCondition(reference, 'all[2]', { result: false })
  t.strictSame([missing.fact_value, missing.compared_with, missing.result], [null, null, false], 'undefined values are null')
  t.strictSame(
    traceCondition({ fact: 'status', operator: 'in', value: ['active', 'x'] }, 'all[0]', {
      factResult: 'active',
      valueResult: ['active', 'x'],
      result: true,
    }).text,
    'status (active) in ["active","x"] → true',
  )
  const skipped = traceCondition(reference, 'all[3]', {})
  t.strictSame(
    [skipped.fact_value, skipped.compared_with, skipped.result, skipped.text],
    [null, null, null, 'outstanding_bcy (not evaluated) greaterThan credit_limit (missing) → not evaluated'],
  )
})
