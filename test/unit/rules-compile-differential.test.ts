import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import type { Facts } from '../../src/domain/facts.js'
import { formatAmount } from '../../src/lib/format.js'
import { FACT_NAMES, OPERATOR_NAMES } from '../../src/rules/catalogue.js'
import { compiled, evaluateCompiled } from '../../src/rules/compile.js'
import { evaluate } from '../../src/rules/reference.js'
import { type LoadedRule, type RuleSet, ruleSetOf } from '../../src/rules/rule-set.js'
import type { RuleFile } from '../../src/rules/schema.js'
import { type Evaluation, EvaluationError } from '../../src/rules/semantics.js'
import { prepareRuleSetFrom } from '../../src/services/rule-sets/fixtures.js'

/**
 * The compiled evaluator against json-rules-engine, the reference: generated rule sets (nested
 * all/any/not, every operator, paths, fact references, placeholders) over generated facts (edge
 * numbers, NaN-like strings, lists, objects, missing facts), and thresholds drawn from the same
 * values as the facts so that exactly-equal comparisons are frequent. The rules are not validated
 * first: the compiled functions must agree with the engine on anything, not only on what
 * validation lets through. Both must give the same decision, rules fired, reasons, alerts
 * (messages included), and, explained, the same trace.
 *
 * COMPILE_DIFF_RUNS (default 20,000) and COMPILE_DIFF_SEED replay a run; the seed is printed on failure.
 */
const RUNS = Number(process.env.COMPILE_DIFF_RUNS ?? 20_000)
const FACTS_PER_SET = 4
const SEED = Number(process.env.COMPILE_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31))

const EDGE = [0, -0, 1e-9, -1e-9, 1, -1, 0.1 + 0.2, 0.3, 49_999.99, 50_000, 50_000.01, 1e15, Number.MAX_VALUE, Number.NaN, Infinity]
const STRINGS = ['', '0', '-0', '1e-9', 'NaN', 'Infinity', ' 1', '50000', 'active', 'inactive', 'On', 'null', 'undefined']
const scalar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(...EDGE) },
  { weight: 3, arbitrary: fc.constantFrom<unknown>(...STRINGS) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, true, false) },
  { weight: 1, arbitrary: fc.double({ noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
)
const list = fc.array(scalar, { maxLength: 3 })
const KEYS = ['a', 'b', 'tags', 'cf_x', 'length', 'x']
const inner = fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(scalar, list), { maxKeys: 3 })
const object = fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(scalar, list, inner, fc.array(inner, { maxLength: 2 })), { maxKeys: 4 })
const factValue = fc.oneof({ weight: 5, arbitrary: scalar }, { weight: 1, arbitrary: list }, { weight: 2, arbitrary: object })
/** Some facts missing altogether, others present with any value. */
const facts = fc.record(Object.fromEntries(FACT_NAMES.map((name) => [name, factValue])), { requiredKeys: [] })

const PATHS = ['$.a', '$.a.x', '$.tags', '$.tags[0]', '$.tags[1]', '$.tags[0].x', '$.cf_x', '$.length', '$.constructor', '$.b[0].a']
const factName = fc.constantFrom(...FACT_NAMES)
const path = fc.option(fc.constantFrom(...PATHS), { nil: undefined, freq: 2 })
const reference = fc.record({ fact: factName, path }, { requiredKeys: ['fact'] })
const leaf = fc.record(
  {
    fact: factName,
    path,
    operator: fc.constantFrom(...OPERATOR_NAMES),
    value: fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 2, arbitrary: list }, { weight: 2, arbitrary: reference }),
  },
  { requiredKeys: ['fact', 'operator', 'value'] },
)
const { group } = fc.letrec<{ node: unknown; group: unknown }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('group')),
  group: fc.oneof(
    { depthSize: 'small' },
    fc.record({ all: fc.array(tie('node'), { minLength: 1, maxLength: 4 }) }),
    fc.record({ any: fc.array(tie('node'), { minLength: 1, maxLength: 4 }) }),
    fc.record({ not: tie('node') }),
  ),
}))
const message = fc
  .array(
    fc.oneof(
      fc.constantFrom('owes ', ' of ', '$& ', '{{', '}}', '{{ nope }}'),
      factName.map((f) => `{{${f}}}`),
    ),
    { maxLength: 4 },
  )
  .map((parts) => parts.join('') || 'fired')
const rules = fc.array(
  fc.record({
    conditions: group,
    type: fc.constantFrom('block' as const, 'review' as const, 'alert' as const),
    priority: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    message,
  }),
  { minLength: 1, maxLength: 3 },
)

/** A rule set as the generator made it, without validation. */
function ruleSet(drawn: { conditions: unknown; type: 'block' | 'review' | 'alert'; priority: number | undefined; message: string }[]) {
  const loaded: LoadedRule[] = drawn.map((r, i) => {
    const definition = {
      name: `rule-${i}`,
      ...(r.priority ? { priority: r.priority } : {}),
      conditions: r.conditions as RuleFile['conditions'],
      event: { type: r.type, params: { code: `CODE_${i}`, message: r.message } },
    }
    return { file: `rule-${i}.json`, definition, type: r.type }
  })
  return ruleSetOf(loaded)
}

const essence = (e: Evaluation) => ({ decision: e.decision, fired: e.fired, reasons: e.reasons, alerts: e.alerts, trace: e.trace })

async function agree(set: RuleSet, input: Record<string, unknown>, explain: boolean) {
  const reference = await evaluate(set, input as Facts, { explain })
  const fast = evaluateCompiled(set, input as Facts, { explain })
  if (!isDeepStrictEqual(essence(fast), essence(reference))) {
    throw new Error(`compiled ${JSON.stringify(essence(fast))}\njson-rules-engine ${JSON.stringify(essence(reference))}`)
  }
  if (!isDeepStrictEqual(fast.evaluated, reference.evaluated)) throw new Error('not every rule was evaluated')
}

async function check<Ts>(t: Test, name: string, property: fc.IAsyncProperty<Ts>, runs: number, casesPerRun = 1) {
  const details = await fc.check(property, { numRuns: runs, seed: SEED })
  if (details.failed) {
    t.comment(`${name}: replay with COMPILE_DIFF_SEED=${SEED} (fast-check seed ${details.seed}, path ${details.counterexamplePath})`)
    t.fail(`${name}: ${details.counterexample ? JSON.stringify(details.counterexample) : ''}\n${details.errorInstance}`)
  } else t.equal(details.numRuns, runs, `${name}: ${runs * casesPerRun} cases, no disagreement (seed ${SEED})`)
}

t.test('the compiled evaluator agrees with json-rules-engine on generated rules and facts', async (t) => {
  // Each generated set is evaluated against FACTS_PER_SET generated facts, every other one explained.
  const property = fc.asyncProperty(
    rules,
    fc.array(facts, { minLength: FACTS_PER_SET, maxLength: FACTS_PER_SET }),
    async (drawn, inputs) => {
      const set = ruleSet(drawn)
      for (const [i, input] of inputs.entries()) await agree(set, input, i % 2 === 1)
    },
  )
  await check(t, 'generated', property, Math.ceil(RUNS / FACTS_PER_SET), FACTS_PER_SET)
})

t.test('the shipped rules agree with json-rules-engine on generated facts', async (t) => {
  const shipped = await prepareRuleSetFrom('rules')
  if (!shipped.ok) throw new Error('the shipped rules do not load')
  const set = shipped.ruleSet
  const amount = fc.oneof(fc.constantFrom(0, -0, 1e-9, 30_000, 40_000, 50_000, 50_000.01, 62_400), fc.double({ min: 0, max: 1e6 }))
  const typed = fc.record({
    status: fc.constantFrom('active', 'inactive', ''),
    outstanding_bcy: amount,
    unused_credits_bcy: amount,
    credit_limit: fc.option(amount, { nil: null }),
    order_amount: amount,
    exposure_with_orders_bcy: amount,
    open_orders_bcy: fc.option(amount, { nil: null }),
    oldest_overdue_days: fc.oneof(fc.constantFrom(0, 30, 31, 90, 91), fc.option(fc.integer({ min: 0, max: 400 }), { nil: null })),
    overdue_bcy: fc.option(amount, { nil: null }),
    custom_fields: fc.dictionary(
      fc.constantFrom('cf_credit_hold', 'cf_segment'),
      fc.constantFrom<unknown>('On', 'Yes', 'Off', true, false, null, ''),
    ),
    contact: object,
  })
  await check(
    t,
    'shipped',
    fc.asyncProperty(typed, fc.boolean(), async (input, explain) => agree(set, input, explain)),
    Math.ceil(RUNS / 10),
  )
})

t.test('amounts read as Intl writes them (en-US, two decimals)', async (t) => {
  const intl = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
  const same = (n: number) => formatAmount(n) === intl.format(n)
  for (const n of [0, -0, 0.005, 0.015, 1.005, 2.675, 999.995, 62_400, 999_999.999, 1e15 - 0.1, 1e15, 1e21, -1, NaN, Infinity]) {
    t.ok(same(n), `${n}: ${formatAmount(n)}`)
  }
  const details = fc.check(
    fc.property(
      fc.oneof(
        fc.double(),
        fc.double({ min: 0, max: 1e15 }),
        fc.tuple(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 99_999 })).map(([a, b]) => a + b / 100_000),
      ),
      same,
    ),
    { numRuns: 50_000, seed: SEED },
  )
  t.notOk(details.failed, `counterexample ${JSON.stringify(details.counterexample)} (seed ${SEED})`)
})

t.test('a rule that cannot be evaluated is an error naming it, never an allow', async (t) => {
  const set = ruleSet([
    {
      conditions: { all: [{ fact: 'outstanding_bcy', operator: 'greaterThan', value: 1 }] },
      type: 'block',
      priority: undefined,
      message: 'x',
    },
  ])
  const broken = new Proxy(
    {},
    {
      get() {
        throw new Error('unreadable')
      },
    },
  )
  t.throws(() => evaluateCompiled(set, broken as Facts), new EvaluationError('rule rule-0 could not be evaluated: unreadable'))
  const unknown = ruleSet([
    { conditions: { all: [{ fact: 'outstanding_bcy', operator: 'near', value: 1 }] }, type: 'block', priority: undefined, message: 'x' },
  ])
  t.throws(() => compiled(unknown), /unknown operator "near"/, 'an operator outside the ten does not compile')
  t.throws(() => evaluateCompiled(unknown, {} as Facts), EvaluationError, 'and is an evaluation error')
  const once = ruleSet([
    { conditions: { all: [{ fact: 'order_amount', operator: 'equal', value: 1 }] }, type: 'block', priority: undefined, message: 'x' },
  ])
  const twice = { ...once, rules: [once.rules[0], once.rules[0]] } as RuleSet
  t.throws(() => evaluateCompiled(twice, {} as Facts), /rule rule-0 appears twice/, 'two rules of one name are refused')
  const nowhere = { fact: 'nowhere' as never, operator: 'equal', value: 1 }
  t.throws(
    () => compiled(ruleSet([{ conditions: { all: [nowhere] }, type: 'block', priority: undefined, message: 'x' }])),
    /unknown fact "nowhere"/,
  )
  t.throws(
    () => compiled(ruleSet([{ conditions: { any: [] }, type: 'block', priority: undefined, message: 'x' }])),
    /empty condition group/,
  )
})

t.test('a set is compiled once and kept with it', async (t) => {
  const set = ruleSet([
    {
      conditions: { all: [{ fact: 'order_amount', operator: 'greaterThan', value: 1 }] },
      type: 'review',
      priority: undefined,
      message: 'x',
    },
  ])
  t.equal(compiled(set), compiled(set))
  t.equal(compiled(set).version, set.version)
})

t.test('a message quotes the values of this evaluation, whatever the last one quoted', async (t) => {
  const set = ruleSet([
    {
      conditions: { all: [{ fact: 'order_amount', operator: 'greaterThanInclusive', value: 0 }] },
      type: 'alert',
      priority: undefined,
      message: '{{order_amount}} of {{outstanding_bcy}} ({{status}})',
    },
  ])
  const message = (facts: Record<string, unknown>) => evaluateCompiled(set, facts as Facts).alerts[0]?.message
  t.equal(message({ order_amount: 1, outstanding_bcy: 2, status: 'a' }), '1.00 of 2.00 (a)')
  t.equal(message({ order_amount: 1, outstanding_bcy: 2, status: 'a' }), '1.00 of 2.00 (a)')
  t.equal(message({ order_amount: 1, outstanding_bcy: 3, status: 'a' }), '1.00 of 3.00 (a)')
  t.equal(message({ order_amount: -0, outstanding_bcy: 3, status: 'a' }), '-0.00 of 3.00 (a)')
  t.equal(message({ order_amount: 0, outstanding_bcy: 3, status: 'a' }), '0.00 of 3.00 (a)')
  t.equal(message({ order_amount: 0, outstanding_bcy: 3 }), '0.00 of 3.00 (missing)')
  const list = [1]
  t.equal(message({ order_amount: 0, outstanding_bcy: 3, status: list }), '0.00 of 3.00 ([1])')
  list.push(2)
  t.equal(message({ order_amount: 0, outstanding_bcy: 3, status: list }), '0.00 of 3.00 ([1,2])', 'an object is read again')
})
