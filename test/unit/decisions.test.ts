import t from 'tap'
import { RiskDecisionSchema } from '../../src/domain/decision.js'
import { buildFacts } from '../../src/domain/facts.js'
import { Problem } from '../../src/errors.js'
import { evaluateCompiled } from '../../src/rules/compile.js'
import { evaluate } from '../../src/rules/reference.js'
import { type Evaluate, type Evaluation, EvaluationError } from '../../src/rules/semantics.js'
import type { ContactService } from '../../src/services/contacts.js'
import type { Disagreement } from '../../src/services/decisions.js'
import {
  contact,
  contactsOf,
  counting,
  failing,
  failModeReview,
  loaded,
  NOW,
  ORG,
  orderRules,
  service,
  without,
} from '../helpers/decisions.js'
import { ruleSetOf } from '../helpers/rules.js'

/**
 * The decision service on its own: contacts come from a fake ContactService (the port), the
 * clock is fixed, and the evaluator is the compiled one, or json-rules-engine wrapped to count
 * its runs or to disagree. Receivables, payment facts and reservations in decisions: decision-facts.test.ts.
 */

t.test('FAIL_MODE=review: when Zoho cannot answer, the order is sent to review with the reason CONTACT_UNAVAILABLE', async (t) => {
  const ruleSet = orderRules()
  const counter = counting()
  const decisions = service({
    contacts: failing(new Problem('upstream_unavailable', 'Zoho Books timed out')),
    rules: () => ruleSet,
    failMode: 'review',
    evaluate: counter.evaluate,
  })
  const answer = await decisions.decide({ org: ORG, contactId: '42', order: { amount: 10 } })
  t.match(answer.decision_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.same(
    without(answer, 'decision_id'),
    failModeReview(ruleSet, 'CONTACT_UNAVAILABLE', 'No contact data: Zoho Books timed out. Review the order by hand.'),
  )
  RiskDecisionSchema.parse(answer)
  t.equal(counter.runs, 0, 'no rules run without a contact')
})

t.test('FAIL_MODE=closed: when Zoho cannot answer, the caller gets upstream_unavailable', async (t) => {
  const decisions = service({ contacts: failing(new Problem('upstream_unavailable', 'down', { retryAfterSeconds: 5 })) })
  await t.rejects(decisions.decide({ org: ORG, contactId: '42' }), { code: 'upstream_unavailable', retryAfterSeconds: 5 })
})

t.test('FAIL_MODE=review never turns Zoho’s own answers (not found, refused) into a review', async (t) => {
  for (const problem of [new Problem('contact_not_found', 'gone'), new Problem('upstream_error', 'refused')]) {
    const decisions = service({ contacts: failing(problem), failMode: 'review' })
    await t.rejects(decisions.decide({ org: ORG, contactId: '42' }), { code: problem.code })
  }
})

t.test('a decision shows the facts, where the contact came from, and when it was decided', async (t) => {
  const c = contact('42', { outstanding_receivable_amount_bcy: 700 })
  const ruleSet = orderRules()
  const decisions = service({ contacts: contactsOf([c], NOW - 42_000), rules: () => ruleSet })
  const answer = await decisions.decide({ org: ORG, contactId: '42', order: { amount: 1500 } })
  const { contact: _, ...facts } = buildFacts(c, { amount: 1500 }, 42)
  t.same(without(answer, 'decision_id'), {
    contact_id: '42',
    organization_id: ORG,
    rules_version: ruleSet.version,
    decision: 'review',
    reasons: [{ rule: 'big-order', code: 'BIG_ORDER', severity: 'review', message: 'order of 1,500.00' }],
    alerts: [],
    facts,
    contact: { source: 'cache', fetched_at: '2026-11-24T09:59:18.000Z', age_seconds: 42 },
    receivables: null,
    payments: null,
    evaluated_at: '2026-11-24T10:00:00.000Z',
  })
  t.notOk('trace' in answer, 'no trace unless asked')
  RiskDecisionSchema.parse(answer)
})

t.test('a contact fetched from Zoho for this decision is 0 seconds old, however long Zoho took', async (t) => {
  const decisions = service({ contacts: contactsOf([contact('42')], NOW - 1500, 'zoho') })
  const answer = await decisions.decide({ org: ORG, contactId: '42' })
  t.same(answer.contact, { source: 'zoho', fetched_at: '2026-11-24T09:59:58.500Z', age_seconds: 0 })
  t.equal(answer.facts?.contact_age_seconds, 0)
})

t.test('a kept copy’s age is counted in whole seconds since it was fetched', async (t) => {
  for (const [source, ms, seconds] of [
    ['cache', 2999, 2],
    ['stale', 600_000, 600],
  ] as const) {
    const answer = await service({ contacts: contactsOf([contact('42')], NOW - ms, source) }).decide({ org: ORG, contactId: '42' })
    t.equal(answer.contact?.age_seconds, seconds, `${source}, fetched ${ms} ms ago`)
    t.equal(answer.facts?.contact_age_seconds, seconds)
  }
})

t.test('a copy stamped ahead of this instance’s clock is 0 seconds old, never negative', async (t) => {
  const answer = await service({ contacts: contactsOf([contact('42')], NOW + 5000) }).decide({ org: ORG, contactId: '42' })
  t.equal(answer.contact?.age_seconds, 0)
})

t.test('a new value of a fact the rules read is evaluated afresh', async (t) => {
  const decisions = service({ contacts: contactsOf([contact('42')]) })
  t.equal((await decisions.decide({ org: ORG, contactId: '42', order: { amount: 500 } })).decision, 'allow')
  t.equal((await decisions.decide({ org: ORG, contactId: '42', order: { amount: 1500 } })).decision, 'review')
})

t.test('a field of the contact a rule reads by path decides', async (t) => {
  const decisions = service({ contacts: contactsOf([contact('41'), contact('42', { payment_terms_label: 'Hold' })]) })
  t.equal((await decisions.decide({ org: ORG, contactId: '41' })).decision, 'allow')
  t.equal((await decisions.decide({ org: ORG, contactId: '42' })).decision, 'block')
})

t.test('a rule can read the contact’s age', async (t) => {
  const ruleSet = ruleSetOf([
    {
      name: 'old-data',
      conditions: { all: [{ fact: 'contact_age_seconds', operator: 'greaterThan', value: 3600 }] },
      type: 'review',
      code: 'OLD_DATA',
      message: 'contact data is {{contact_age_seconds}} seconds old',
    },
  ])
  t.same(
    ruleSet.inputs.map((i) => i.fact),
    ['contact_age_seconds'],
    'the only input',
  )
  let fetchedAtMs = NOW - 60_000
  const decisions = service({
    contacts: { load: async () => loaded(contact('42'), fetchedAtMs), invalidate: async () => {}, known: async () => false },
    rules: () => ruleSet,
  })
  t.equal((await decisions.decide({ org: ORG, contactId: '42' })).decision, 'allow')
  fetchedAtMs = NOW - 7_200_000
  t.same((await decisions.decide({ org: ORG, contactId: '42' })).reasons, [
    { rule: 'old-data', code: 'OLD_DATA', severity: 'review', message: 'contact data is 7200 seconds old' },
  ])
})

t.test('each decision is made under the rules active when it starts', async (t) => {
  const [strict, lenient] = [orderRules(100), orderRules(100_000)]
  let active = strict
  const decisions = service({ contacts: contactsOf([contact('42')]), rules: () => active })
  const decide = () => decisions.decide({ org: ORG, contactId: '42', order: { amount: 5000 } })
  t.equal((await decide()).decision, 'review')
  active = lenient
  const after = await decide()
  t.same([after.decision, after.rules_version], ['allow', lenient.version])
  active = strict
  t.equal((await decide()).decision, 'review')
})

t.test('an evaluation that began under the old rules is answered under them, the new ones decide meanwhile', async (t) => {
  const [oldRules, newRules] = [orderRules(100), orderRules(100_000)]
  let active = oldRules
  let started: () => void = () => {}
  const oldStarted = new Promise<void>((resolve) => {
    started = resolve
  })
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const counter = counting(async (ruleSet, facts, options) => {
    if (ruleSet === oldRules) {
      started()
      await held
    }
    return evaluate(ruleSet, facts, options)
  })
  const decisions = service({ contacts: contactsOf([contact('42')]), rules: () => active, evaluate: counter.evaluate })
  const decide = () => decisions.decide({ org: ORG, contactId: '42', order: { amount: 5000 } })
  const underOld = decide()
  await oldStarted
  active = newRules
  t.equal((await decide()).decision, 'allow', 'the new rules decide while the old evaluation is still running')
  release()
  t.same([(await underOld).decision, (await underOld).rules_version], ['review', oldRules.version], 'decided under the rules it began with')
  const again = await decide()
  t.same([again.decision, again.rules_version], ['allow', newRules.version])
  t.equal(counter.runs, 3)
})

t.test('an explained decision carries its trace', async (t) => {
  const counter = counting()
  const decisions = service({ contacts: contactsOf([contact('42')]), evaluate: counter.evaluate })
  const plain = await decisions.decide({ org: ORG, contactId: '42', order: { amount: 1500 } })
  for (let i = 0; i < 2; i++) {
    const explained = await decisions.decide({ org: ORG, contactId: '42', order: { amount: 1500 }, explain: true })
    t.same([explained.decision, explained.reasons], [plain.decision, plain.reasons])
    t.same(
      explained.trace?.map((r) => [r.rule, r.fired]),
      [
        ['big-order', true],
        ['on-hold', false],
      ],
    )
  }
  t.equal(counter.runs, 3)
})

/** An evaluator that loses the last rule of the set and calls the order allowed. */
const losingARule: Evaluate = async (ruleSet, facts, options) => {
  const full = await evaluate(ruleSet, facts, options)
  const lost = ruleSet.rules.at(-1)?.definition.name
  return { ...full, decision: 'allow', reasons: [], evaluated: full.evaluated.filter((name) => name !== lost) }
}

t.test('an evaluation that misses a rule is never a decision: decide, explain and dry run', async (t) => {
  const decisions = service({ contacts: contactsOf([contact('42', { payment_terms_label: 'Hold' })]), evaluate: losingARule })
  await t.rejects(decisions.decide({ org: ORG, contactId: '42' }), EvaluationError)
  await t.rejects(decisions.decide({ org: ORG, contactId: '42', explain: true }), EvaluationError)
  await t.rejects(decisions.dryRun({ org: '1', contact: contact('42', { payment_terms_label: 'Hold' }) }), EvaluationError)
})

t.test('a dry run evaluates the contact as given, 0 seconds old, under the active rules', async (t) => {
  const ruleSet = orderRules()
  const contacts: ContactService = {
    load: async () => t.fail('a dry run loads no contact') as never,
    invalidate: async () => {},
    known: async () => false,
  }
  const decisions = service({ contacts, rules: () => ruleSet })
  const c = contact('42', { payment_terms_label: 'Hold' })
  const answer = await decisions.dryRun({ org: '1', contact: c, order: { amount: 1500 } })
  const { contact: _, ...facts } = buildFacts(c, { amount: 1500 }, 0)
  t.same(answer, {
    decision: 'block',
    reasons: [
      { rule: 'big-order', code: 'BIG_ORDER', severity: 'review', message: 'order of 1,500.00' },
      { rule: 'on-hold', code: 'ON_HOLD', severity: 'block', message: 'the contact is on hold' },
    ],
    alerts: [],
    facts,
    rules_version: ruleSet.version,
    evaluated_at: '2026-11-24T10:00:00.000Z',
  })
  t.notOk('trace' in answer)
})

t.test('a dry run under a candidate set, explained', async (t) => {
  const candidate = orderRules(10_000)
  const decisions = service({ contacts: contactsOf([]) })
  const answer = await decisions.dryRun({ org: '1', contact: contact('42'), order: { amount: 1500 }, ruleSet: candidate, explain: true })
  t.same([answer.decision, answer.rules_version], ['allow', candidate.version])
  t.same(
    answer.trace?.map((r) => [r.rule, r.fired]),
    [
      ['big-order', false],
      ['on-hold', false],
    ],
  )
})

/** The compiled evaluator with its result corrupted: it forgets that a rule fired, and says allow. */
const corrupted: Evaluate = (ruleSet, facts, options) => {
  const right = evaluateCompiled(ruleSet, facts, options)
  return { ...right, decision: 'allow', reasons: [], alerts: [], fired: [] }
}

t.test('without a sample, the compiled evaluator alone decides (the seam is live)', async (t) => {
  const seen: unknown[] = []
  const decisions = service({
    contacts: contactsOf([contact('42')]),
    evaluate: corrupted,
    verifySample: 0,
    random: () => 0,
    onDisagreement: (d) => seen.push(d),
  })
  t.equal((await decisions.decide({ org: ORG, contactId: '42', order: { amount: 5000 } })).decision, 'allow')
  t.same(seen, [])
})

t.test('a sampled disagreement answers json-rules-engine’s result, reports both, and distrusts that version', async (t) => {
  const ruleSet = orderRules()
  const other = orderRules(2000)
  let active = ruleSet
  const seen: Disagreement[] = []
  const draws = [0.3, 0.7]
  const decisions = service({
    contacts: contactsOf([contact('42')]),
    rules: () => active,
    evaluate: corrupted,
    verifySample: 0.5,
    random: () => draws.shift() ?? 0.9,
    onDisagreement: (d) => seen.push(d),
  })
  const decide = () => decisions.decide({ org: ORG, contactId: '42', order: { amount: 5000 } })
  const first = await decide()
  t.same([first.decision, first.reasons.map((r) => r.code)], ['review', ['BIG_ORDER']], 'json-rules-engine’s answer')
  t.equal(seen.length, 1)
  t.same([seen[0]?.compiled.decision, seen[0]?.reference.decision, seen[0]?.ruleSet.version], ['allow', 'review', ruleSet.version])
  t.equal(seen[0]?.facts.order_amount, 5000)
  t.ok(decisions.untrusted(ruleSet.version))
  t.equal((await decide()).decision, 'review', 'not sampled (0.7), yet json-rules-engine decides this version from now on')
  t.equal(seen.length, 1, 'counted once')
  active = other
  t.notOk(decisions.untrusted(other.version))
  t.equal((await decide()).decision, 'allow', 'another version, not sampled: the compiled rules decide')
})

t.test('sampled evaluations that agree answer the compiled result', async (t) => {
  const seen: unknown[] = []
  const decisions = service({ contacts: contactsOf([contact('42')]), verifySample: 1, onDisagreement: (d) => seen.push(d) })
  for (const amount of [0, 1000, 1000.01, 5000]) {
    const plain = await decisions.decide({ org: ORG, contactId: '42', order: { amount } })
    const explained = await decisions.decide({ org: ORG, contactId: '42', order: { amount }, explain: true })
    t.equal(plain.decision, amount > 1000 ? 'review' : 'allow')
    t.equal(explained.trace?.length, 2)
  }
  t.same(seen, [], 'no disagreement, with or without a trace')
})

t.test('a sampled evaluation that differs from json-rules-engine’s in any one part is a disagreement', async (t) => {
  const variants: [string, (right: Evaluation) => Evaluation][] = [
    ['the decision', (right) => ({ ...right, decision: 'block' })],
    ['the rules fired', (right) => ({ ...right, fired: [] })],
    ['a reason’s message', (right) => ({ ...right, reasons: right.reasons.map((r) => ({ ...r, message: `${r.message}!` })) })],
    ['an alert', (right) => ({ ...right, alerts: [{ rule: 'big-order', code: 'BIG_ORDER', message: 'order of 5,000.00' }] })],
    ['the trace', (right) => ({ ...right, trace: right.trace?.map((r) => ({ ...r, fired: !r.fired })) })],
  ]
  for (const [what, change] of variants) {
    const seen: Disagreement[] = []
    const decisions = service({
      contacts: contactsOf([contact('42')]),
      evaluate: (ruleSet, facts, options) => change(evaluateCompiled(ruleSet, facts, options)),
      verifySample: 1,
      onDisagreement: (d) => seen.push(d),
    })
    const answer = await decisions.decide({ org: ORG, contactId: '42', order: { amount: 5000 }, explain: true })
    t.equal(seen.length, 1, `${what} differs: a disagreement`)
    t.same([answer.decision, answer.reasons, answer.alerts], ['review', seen[0]?.reference.reasons, []], 'json-rules-engine’s answer')
  }
})

t.test('RULES_VERIFY_SAMPLE is the share verified: a draw equal to it is not verified', async (t) => {
  for (const [draw, verified] of [
    [0.25, false],
    [0.2499, true],
  ] as const) {
    const seen: unknown[] = []
    const decisions = service({
      contacts: contactsOf([contact('42')]),
      evaluate: corrupted,
      verifySample: 0.25,
      random: () => draw,
      onDisagreement: (d) => seen.push(d),
    })
    await decisions.decide({ org: ORG, contactId: '42', order: { amount: 5000 } })
    t.equal(seen.length, verified ? 1 : 0, `draw ${draw}`)
  }
})

t.test('settle: after the rules decide, before the decision is recorded, its answer is the one given', async (t) => {
  const seen: { input: unknown; decision: string }[] = []
  const recorded: string[] = []
  const decisions = service({
    contacts: contactsOf([contact('42')]),
    settle: async (input, answer) => {
      seen.push({ input, decision: answer.decision })
      return { ...answer, decision: 'allow', reasons: [], overridden: answer.reasons }
    },
    onDecision: ({ decision }) => recorded.push(decision.decision),
  })
  const input = { org: ORG, contactId: '42', order: { amount: 5000, reference: 'SO-1' } }
  const answer = await decisions.decide(input)
  t.same(seen, [{ input, decision: 'review' }], 'settle sees the rules’ decision and the input')
  t.equal(answer.decision, 'allow')
  t.match(answer.overridden, [{ code: 'BIG_ORDER' }])
  t.same(recorded, ['allow'], 'the history records the settled answer')
})
