import t from 'tap'
import { CASES_PER_ORGANIZATION, createLocalCases } from '../../src/adapters/local/cases.js'
import { keyActor } from '../../src/domain/actor.js'
import { type Case, openCase } from '../../src/domain/case.js'
import type { RiskDecision } from '../../src/domain/decision.js'
import type { RuleSet } from '../../src/rules/rule-set.js'
import { caseIdFor, createCaseService } from '../../src/services/cases.js'
import { decided, hold, POLICY } from '../helpers/cases.js'

/**
 * The in-process case store's bound (without Redis it is the store): a count per organization,
 * closed cases making room first, open cases never dropped. With the case service on it, as the
 * decisions use it.
 */
const ORG = '10234695'
const CONTACT = '460000000031004'
const T0 = Date.parse('2026-12-01T09:00:00.000Z')

const held = (reference: string): RiskDecision => decided({ decision_id: `d-${reference}`, contact_id: CONTACT, organization_id: ORG })

t.test(
  'a full organization: a closed case makes room for a new one; all open, the new one is refused and the decision still held',
  async (t) => {
    let now = T0
    const store = createLocalCases(3)
    const errors: string[] = []
    const cases = createCaseService({
      store,
      policy: POLICY,
      limits: () => new Map(),
      organizations: () => [ORG],
      rules: () => ({ rules: [] }) as unknown as RuleSet,
      now: () => now,
      onError: (err) => errors.push((err as Error).message),
    })
    const settle = (reference: string) => {
      now += 1000
      return cases.settle({ org: ORG, contactId: CONTACT, order: { amount: 8000, reference }, caller: 'shop' }, held(reference))
    }
    const id = (reference: string) => caseIdFor(ORG, CONTACT, reference)
    for (const reference of ['R1', 'R2', 'R3']) t.equal((await settle(reference)).case?.state, 'open')

    const refused = await settle('R4')
    t.equal(refused.decision, 'block', 'the order is still held, as the rules said')
    t.equal(refused.case, undefined, 'with no case')
    t.same(errors, [`organization ${ORG} has 3 open cases in this process: no room for another until one is closed`])
    t.equal(await cases.get(id('R4')), undefined)
    t.equal((await settle('R2')).case?.state, 'open', 'a case already kept is still updated')
    t.same(
      (await cases.list({ limit: 10 })).cases.map((c) => c.order.reference),
      ['R1', 'R2', 'R3'],
      'no open case was dropped',
    )

    t.equal((await cases.reject(id('R2'), keyActor('ops', true), { reason: 'no' }))?.state, 'rejected')
    t.equal((await settle('R4')).case?.state, 'open', 'a closed case made room')
    t.equal(await cases.get(id('R2')), undefined, 'the closed one went')
    t.same(
      (await cases.list({ limit: 10 })).cases.map((c) => c.order.reference),
      ['R1', 'R3', 'R4'],
    )
    t.not((await cases.list({ limit: 2 })).next_cursor, null, 'pages still continue')
    t.same(
      (await store.page(ORG, { after: (await store.page(ORG, { count: 1 }))[0]?.key, count: 5 })).map((e) => e.case.order.reference),
      ['R3', 'R4'],
      'after a cursor, oldest first',
    )
    t.equal(errors.length, 1)
  },
)

t.test(`the default keeps ${CASES_PER_ORGANIZATION} cases of an organization, oldest closed first, and pages them in order`, async (t) => {
  const store = createLocalCases()
  const first = openCase(
    hold({
      caseId: 'case_000000000000000000000000',
      org: ORG,
      contactId: CONTACT,
      order: { reference: 'R', amount: 1 },
      decisionId: 'd',
      reasons: [],
    }),
    T0,
    POLICY,
  )
  const make = (n: number, state: Case['state']): Case => ({
    ...first,
    state,
    case_id: `case_${n.toString(16).padStart(24, '0')}`,
    opened_at: new Date(T0 + n).toISOString(),
  })
  let stored = 0
  for (let n = 0; n < CASES_PER_ORGANIZATION; n++) if (await store.put(make(n, n % 2 === 0 ? 'open' : 'expired'), 0)) stored++
  t.equal(stored, CASES_PER_ORGANIZATION)
  t.equal(await store.put(make(CASES_PER_ORGANIZATION, 'open'), 0), true)
  t.equal(await store.get(ORG, make(1, 'expired').case_id), undefined, 'the oldest closed case went')
  t.ok(await store.get(ORG, make(0, 'open').case_id), 'the oldest open case stays')
  const open = await store.page(ORG, { state: 'open', count: 3 })
  t.same(
    open.map((e) => e.case.case_id),
    [0, 2, 4].map((n) => make(n, 'open').case_id),
  )
  const all = await store.page(ORG, { count: 3 })
  t.same(
    all.map((e) => e.case.case_id),
    [0, 2, 3].map((n) => make(n, 'open').case_id),
  )
  const other = await store.put({ ...make(CASES_PER_ORGANIZATION + 1, 'open'), organization_id: '10234696' }, 0)
  t.equal(other, true, 'another organization has room of its own')
})
