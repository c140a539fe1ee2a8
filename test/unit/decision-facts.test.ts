import t from 'tap'
import { RiskDecisionSchema } from '../../src/domain/decision.js'
import type { CustomerPayments } from '../../src/domain/payments.js'
import type { CustomerReceivables } from '../../src/domain/receivables.js'
import { Problem } from '../../src/errors.js'
import type { DecisionServiceOptions } from '../../src/services/decisions.js'
import type { GroupExposureService, GroupOthers } from '../../src/services/group-exposure.js'
import type { Payments } from '../../src/services/payments.js'
import type { Receivables } from '../../src/services/receivables.js'
import { contact, contactsOf, failing, failModeReview, NOW, ORG, service, without } from '../helpers/decisions.js'
import { ruleSetOf } from '../helpers/rules.js'

/**
 * The decision service with the facts it reads beyond the contact: receivables (overdue, "today"
 * in the organization's time zone), payment facts, and the reservation hold. Parts as in
 * decisions.test.ts (test/helpers/decisions.ts).
 */

/** Review customers with anything overdue; block past 90 days. Reads receivables facts. */
const OVERDUE = ruleSetOf([
  {
    name: 'overdue',
    conditions: { all: [{ fact: 'overdue_bcy', operator: 'greaterThan', value: 0 }] },
    type: 'review',
    code: 'OVERDUE',
    message: '{{overdue_bcy}} overdue on {{overdue_invoices}} invoices, oldest {{oldest_overdue_days}} days',
  },
  {
    name: 'long-overdue',
    conditions: { all: [{ fact: 'oldest_overdue_days', operator: 'greaterThan', value: 90 }] },
    type: 'block',
    code: 'LONG_OVERDUE',
    message: 'overdue for {{oldest_overdue_days}} days',
  },
])

/** Serves one customer's receivables, read at `asOf`, and counts the reads; or fails with `problem`. */
function receivablesOf(customer: CustomerReceivables, asOf: number, problem?: Problem) {
  const service = {
    reads: 0,
    async forCustomer(): Promise<Receivables> {
      service.reads++
      if (problem) throw problem
      return { customer, asOf }
    },
    customerChanged: async () => {},
    refreshDue: async () => {},
    ages: () => ({}),
    stop: () => {},
  }
  return service
}

const DUE_TODAY_IN_UTC: CustomerReceivables = { invoices: [{ due_date: '2026-11-24', balance_bcy: 250 }], open_orders_bcy: 0 }

/** Decisions on contact 42 under the overdue rules, with these receivables. */
const withReceivables = (receivables: ReturnType<typeof receivablesOf>, options: Partial<DecisionServiceOptions> = {}) =>
  service({ contacts: contactsOf([contact('42')]), rules: () => OVERDUE, receivables, ...options })

t.test('receivables facts: "today" is the organization’s calendar date, and the answer says how old the listing is', async (t) => {
  const asOf = NOW - 90_500
  const due = await withReceivables(receivablesOf(DUE_TODAY_IN_UTC, asOf)).decide({ org: ORG, contactId: '42' })
  t.same([due.decision, due.reasons], ['allow', []], 'due today in UTC (the default zone): not yet overdue')
  t.same(due.receivables, { as_of: '2026-11-24T09:58:29.500Z', age_seconds: 90 })
  t.same([due.facts?.overdue_bcy, due.facts?.overdue_invoices, due.facts?.oldest_overdue_days], [0, 0, 0])
  RiskDecisionSchema.parse(due)

  // 10:00 UTC is already the next day at UTC+14.
  const kiritimati = withReceivables(receivablesOf(DUE_TODAY_IN_UTC, asOf), { timeZone: 'Pacific/Kiritimati' })
  const overdue = await kiritimati.decide({ org: ORG, contactId: '42' })
  t.same(overdue.reasons, [
    { rule: 'overdue', code: 'OVERDUE', severity: 'review', message: '250.00 overdue on 1 invoices, oldest 1 days' },
  ])
  t.equal(overdue.decision, 'review')
})

t.test('a listing stamped ahead of this instance’s clock is 0 seconds old', async (t) => {
  const decisions = withReceivables(receivablesOf(DUE_TODAY_IN_UTC, NOW + 3000))
  t.same((await decisions.decide({ org: ORG, contactId: '42' })).receivables, { as_of: '2026-11-24T10:00:03.000Z', age_seconds: 0 })
})

t.test('rules that read no receivables fact never ask for receivables', async (t) => {
  const receivables = receivablesOf(DUE_TODAY_IN_UTC, NOW)
  const answer = await service({ contacts: contactsOf([contact('42')]), receivables }).decide({ org: ORG, contactId: '42' })
  t.equal(answer.receivables, null)
  t.equal(answer.facts?.overdue_bcy, null, 'a receivables fact is null, not 0')
  t.equal(receivables.reads, 0)
})

t.test('FAIL_MODE=review: receivables Zoho cannot give send the order to review with RECEIVABLES_UNAVAILABLE', async (t) => {
  const unavailable = new Problem('upstream_unavailable', 'the listing is 2 hours old')
  const decisions = withReceivables(receivablesOf(DUE_TODAY_IN_UTC, NOW, unavailable), { failMode: 'review' })
  const answer = await decisions.decide({ org: ORG, contactId: '42', order: { amount: 10 } })
  t.same(
    without(answer, 'decision_id'),
    failModeReview(OVERDUE, 'RECEIVABLES_UNAVAILABLE', 'No receivables data: the listing is 2 hours old. Review the order by hand.'),
  )
})

t.test('missing receivables are never read as "nothing overdue": closed mode refuses, other problems pass through', async (t) => {
  for (const [failMode, problem] of [
    ['closed', new Problem('upstream_unavailable', 'stale')],
    ['review', new Problem('upstream_error', 'refused')],
  ] as const) {
    const decisions = withReceivables(receivablesOf(DUE_TODAY_IN_UTC, NOW, problem), { failMode })
    await t.rejects(decisions.decide({ org: ORG, contactId: '42' }), { code: problem.code }, `${failMode}: ${problem.code}`)
  }
})

t.test('when both the contact and the receivables fail, the contact’s failure is the reason', async (t) => {
  const decisions = withReceivables(receivablesOf(DUE_TODAY_IN_UTC, NOW, new Problem('upstream_unavailable', 'stale')), {
    contacts: failing(new Problem('upstream_unavailable', 'Zoho Books timed out')),
    failMode: 'review',
  })
  t.same(
    (await decisions.decide({ org: ORG, contactId: '42' })).reasons.map((r) => [r.code, r.message]),
    [['CONTACT_UNAVAILABLE', 'No contact data: Zoho Books timed out. Review the order by hand.']],
  )
})

const PAYS_LATE = ruleSetOf([
  {
    name: 'pays-late',
    conditions: { all: [{ fact: 'weighted_days_late_12m', operator: 'greaterThan', value: 15 }] },
    type: 'review',
    code: 'PAYS_LATE',
    message: '{{weighted_days_late_12m}} days late over {{paid_invoices_12m}} invoices',
  },
  {
    name: 'review-due',
    conditions: { all: [{ fact: 'credit_review_overdue_days', operator: 'greaterThan', value: 0 }] },
    type: 'review',
    code: 'REVIEW_DUE',
    message: 'review due {{credit_review_overdue_days}} days ago',
  },
])

function paymentsOf(customer: CustomerPayments | undefined, asOf: number, problem?: Problem) {
  const service = {
    reads: 0,
    async forCustomer(): Promise<Payments> {
      service.reads++
      if (problem) throw problem
      return { customer, asOf }
    },
    refreshDue: async () => {},
    ages: () => ({}),
    stop: () => {},
  }
  return service
}

const LATE: CustomerPayments = {
  facts: { paid_invoices_12m: 12, avg_days_to_pay_12m: 70, avg_days_late_12m: 40, weighted_days_late_12m: 40.5, days_late_trend: 0.5 },
  months: [],
}
const reviewed = contact('42', { custom_field_hash: { cf_review_on_unformatted: '2026-11-20' } })

t.test(
  'payment facts: read when the rules use them, the answer says how old they are; review dates from the configured field',
  async (t) => {
    const payments = paymentsOf(LATE, NOW - 3_600_500)
    const decisions = service({
      contacts: contactsOf([reviewed]),
      rules: () => PAYS_LATE,
      payments,
      creditFields: { reviewDate: 'cf_review_on', limitUntil: 'cf_until' },
    })
    const late = await decisions.decide({ org: ORG, contactId: '42' })
    t.same(late.payments, { as_of: '2026-11-24T08:59:59.500Z', age_seconds: 3600 })
    t.same(
      late.reasons.map((r) => r.message),
      ['40.5 days late over 12 invoices', 'review due 4 days ago'],
    )
    t.equal(payments.reads, 1)
    RiskDecisionSchema.parse(late)
    // A customer without paid invoices: 0 and nulls, never made-up zeros for the averages.
    const none = await service({
      contacts: contactsOf([contact('42')]),
      rules: () => PAYS_LATE,
      payments: paymentsOf(undefined, NOW),
    }).decide({
      org: ORG,
      contactId: '42',
    })
    t.same(
      [none.decision, none.facts?.paid_invoices_12m, none.facts?.weighted_days_late_12m, none.facts?.credit_review_overdue_days],
      ['allow', 0, null, null],
    )
    // Rules without payment facts read none.
    const unused = paymentsOf(LATE, NOW)
    const plain = await service({ contacts: contactsOf([contact('42')]), rules: () => OVERDUE, payments: unused }).decide({
      org: ORG,
      contactId: '42',
    })
    t.same([unused.reads, plain.payments, plain.facts?.paid_invoices_12m], [0, null, null])
  },
)

t.test('FAIL_MODE=review: payment facts Zoho cannot give send the order to review with PAYMENTS_UNAVAILABLE; closed refuses', async (t) => {
  const unavailable = new Problem('upstream_unavailable', 'the payment facts are 4 days old')
  const review = service({
    contacts: contactsOf([contact('42')]),
    rules: () => PAYS_LATE,
    payments: paymentsOf(LATE, NOW, unavailable),
    failMode: 'review',
  })
  const answer = await review.decide({ org: ORG, contactId: '42' })
  t.same(
    without(answer, 'decision_id'),
    failModeReview(PAYS_LATE, 'PAYMENTS_UNAVAILABLE', 'No payment data: the payment facts are 4 days old. Review the order by hand.'),
  )
  const closed = service({ contacts: contactsOf([contact('42')]), rules: () => PAYS_LATE, payments: paymentsOf(LATE, NOW, unavailable) })
  await t.rejects(closed.decide({ org: ORG, contactId: '42' }), { code: 'upstream_unavailable' })
})

t.test('dry runs: payment facts and the day as given', async (t) => {
  const decisions = service({ contacts: contactsOf([]), rules: () => PAYS_LATE })
  const given = await decisions.dryRun({
    org: '1',
    contact: reviewed,
    payments: { weighted_days_late_12m: 16, paid_invoices_12m: 3 },
    today: '2026-11-21',
  })
  t.same(
    given.reasons.map((r) => r.code),
    ['PAYS_LATE'],
    'the review date 2026-11-20 read through the default field name is none: not the configured one',
  )
  const dated = await service({
    contacts: contactsOf([]),
    rules: () => PAYS_LATE,
    creditFields: { reviewDate: 'cf_review_on', limitUntil: 'cf_until' },
  }).dryRun({
    org: '1',
    contact: reviewed,
    today: '2026-11-21',
  })
  t.same([dated.reasons.map((r) => r.message), dated.facts.paid_invoices_12m], [['review due 1 days ago'], 0])
  const today = await decisions.dryRun({
    org: '1',
    contact: contact('42', { custom_field_hash: { cf_credit_review_date_unformatted: '2026-11-23' } }),
  })
  t.equal(today.facts.credit_review_overdue_days, 1, 'without a day: today in the organization’s zone')
})

t.test('reservations: the hold is given who asks and what Zoho lists, and its reserved amount is in the facts', async (t) => {
  const listing: CustomerReceivables = { invoices: [], open_orders_bcy: 1000, references: ['SO-9'] }
  const seen: unknown[] = []
  const decisions = withReceivables(receivablesOf(listing, NOW - 5000), {
    hold: async (input, decide) => {
      seen.push(input)
      const outcome = await decide(2500)
      return { outcome, reservation: { reference: 'SO-1', amount: 700, expires_at: '2026-11-25T10:00:00.000Z', mode: 'shared' } }
    },
  })
  const order = { amount: 700, reference: 'SO-1' }
  const answer = await decisions.decide({ org: ORG, contactId: '42', order, caller: 'shop' })
  t.same(seen, [{ org: ORG, contactId: '42', order, caller: 'shop', listed: { references: new Set(['SO-9']), asOf: NOW - 5000 } }])
  t.same([answer.facts?.reserved_bcy, answer.facts?.open_orders_bcy, answer.facts?.exposure_with_orders_bcy], [2500, 1000, 4200])
  t.same(answer.reservation, { reference: 'SO-1', amount: 700, expires_at: '2026-11-25T10:00:00.000Z', mode: 'shared' })
  RiskDecisionSchema.parse(answer)
  // Without a hold (and without a caller name): nothing reserved, nothing held.
  const alone = await withReceivables(receivablesOf(listing, NOW)).decide({ org: ORG, contactId: '42', order })
  t.same([alone.facts?.reserved_bcy, alone.facts?.exposure_with_orders_bcy, alone.reservation], [0, 1700, undefined])
  // A hold that holds nothing, and a caller the hold is told of as '' when there is none.
  const none = withReceivables(receivablesOf(listing, NOW), {
    hold: async (input, decide) => {
      seen.push(input.caller)
      return { outcome: await decide(null) }
    },
  })
  const plain = await none.decide({ org: ORG, contactId: '42' })
  t.same([plain.facts?.reserved_bcy, plain.reservation, seen.at(-1)], [0, undefined, ''])
})

/** Review a group exposure over 20,000. Reads group_exposure_bcy. */
const GROUP = ruleSetOf([
  {
    name: 'group-exposure',
    conditions: { all: [{ fact: 'group_exposure_bcy', operator: 'greaterThan', value: 20000 }] },
    type: 'review',
    code: 'GROUP_EXPOSURE_OVER_LIMIT',
    message: 'Group exposure {{group_exposure_bcy}}',
  },
])

/** Group listings that answer `others` (or fail with it), counting the look-ups. */
function groupsOf(others: GroupOthers | Problem): GroupExposureService & { reads: number } {
  return {
    reads: 0,
    async othersFor() {
      this.reads++
      if (others instanceof Problem) throw others
      return others
    },
    async refreshDue() {},
    ages: () => ({}),
    stop() {},
  }
}

t.test(
  'group exposure: the linked customers elsewhere are added to this exposure; a rule set that does not read it asks nothing',
  async (t) => {
    const groups = groupsOf({ othersBcy: 15000, asOf: NOW })
    const decisions = service({ contacts: contactsOf([contact('42')]), rules: () => GROUP, groups })
    const answer = await decisions.decide({ org: ORG, contactId: '42', order: { amount: 6000 } })
    t.equal(answer.facts?.group_exposure_bcy, (answer.facts?.exposure_bcy as number) + 15000)
    t.same(
      answer.reasons.map((r) => r.code),
      (answer.facts?.exposure_bcy as number) + 15000 > 20000 ? ['GROUP_EXPOSURE_OVER_LIMIT'] : [],
    )
    const plain = await service({ contacts: contactsOf([contact('42')]), groups }).decide({ org: ORG, contactId: '42' })
    t.same([groups.reads, plain.facts?.group_exposure_bcy], [1, null], 'the order rules do not read it: no look-up, null')
  },
)

t.test(
  'FAIL_MODE=review: group balances Zoho cannot give send the order to review with GROUP_EXPOSURE_UNAVAILABLE; closed refuses',
  async (t) => {
    const unavailable = new Problem('upstream_unavailable', 'the group listing of 10234696 is 2 hours old')
    const review = service({ contacts: contactsOf([contact('42')]), rules: () => GROUP, groups: groupsOf(unavailable), failMode: 'review' })
    t.same(
      without(await review.decide({ org: ORG, contactId: '42' }), 'decision_id'),
      failModeReview(
        GROUP,
        'GROUP_EXPOSURE_UNAVAILABLE',
        'No group exposure data: the group listing of 10234696 is 2 hours old. Review the order by hand.',
      ),
    )
    const closed = service({ contacts: contactsOf([contact('42')]), rules: () => GROUP, groups: groupsOf(unavailable) })
    await t.rejects(closed.decide({ org: ORG, contactId: '42' }), { code: 'upstream_unavailable' })
  },
)
