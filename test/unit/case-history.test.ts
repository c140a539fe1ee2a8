import t from 'tap'
import { CASE_HISTORY_MAX, clearCase, holdAgain, openCase } from '../../src/domain/case.js'
import { hold, POLICY } from '../helpers/cases.js'

/** A case's history stays bounded however often its order goes between held and allowed. */

const held = (n: number) =>
  hold({
    caseId: 'case-1',
    contactId: '460000000031012',
    order: { reference: 'SO-1001', amount: 8000 + n },
    decisionId: `decision-${n}`,
    decision: 'review',
    reasons: [{ rule: 'overdue-over-30-days', code: 'OVERDUE_OVER_30_DAYS', severity: 'review', message: 'late' }],
  })

t.test('held and allowed 200 times: the first step and the newest 99 kept, every change counted', async (t) => {
  let c = openCase(held(0), 0, POLICY)
  for (let n = 1; n <= 200; n++) {
    const cleared = clearCase(c, 'shop', `allowed-${n}`, n * 1000)
    if (!cleared) throw new Error('the case was not open')
    c = cleared
    c = holdAgain(c, held(n), n * 1000 + 500, POLICY).next
  }
  t.equal(c.state, 'open')
  t.equal(c.revision, 401, 'opened, then 200 clears and 200 re-openings')
  t.equal(c.history.length, CASE_HISTORY_MAX)
  t.equal(c.history[0]?.event, 'opened', 'the first step stays')
  t.equal(c.history.at(-1)?.decision_id, 'decision-200', 'the newest step is last')
  t.equal(c.history.at(-2)?.event, 'cleared')
  t.same([c.history[1]?.decision_id, c.history[2]?.decision_id], ['decision-151', 'allowed-152'], 'the newest 99 after it, in order')
})

t.test('under the bound nothing is dropped', async (t) => {
  let c = openCase(held(0), 0, POLICY)
  c = clearCase(c, 'shop', 'allowed-1', 1000) ?? c
  c = holdAgain(c, held(1), 2000, POLICY).next
  t.same(
    c.history.map((s) => s.event),
    ['opened', 'cleared', 'reopened'],
  )
})
