import t from 'tap'
import { createLocalCallerShare, type ShareInput, shareVerdict } from '../../src/adapters/local/caller-share.js'
import type { BudgetPart } from '../../src/adapters/zoho/ports.js'

/**
 * The caller share on its own: the rule (shareVerdict) and the in-process share on a clock. The
 * Redis share's script, which must say what the rule says: system/caller-share-redis.test.ts.
 */
const ORG = '10234695'
const T0 = Date.parse('2026-11-24T10:00:00.000Z')
const B = 90
const R = 23

/** n calls made `gap` ms apart, the last one `age` ms before now. */
const times = (n: number, now: number, gap = 100, age = 1000) => Array.from({ length: n }, (_, i) => now - age - (n - 1 - i) * gap)

const verdict = (input: Partial<ShareInput>) =>
  shareVerdict({ perMinute: B, reserve: R, spent: [], mine: [], callers: 1, now: T0, ...input })

t.test('the rule, for a budget of 90 and a reserve of 23', async (t) => {
  t.same(verdict({ spent: times(66, T0), mine: times(66, T0) }), { ok: true }, '24 left: more than the reserve, anyone may call')
  const alone = verdict({ spent: times(67, T0), mine: times(67, T0) })
  t.match(alone, { ok: false, used: 67, fair: 45 }, 'a caller alone gets 90 − 23 = 67: callers count as at least two')
  t.same(verdict({ spent: times(67, T0), mine: [], callers: 2 }), { ok: true }, 'a second caller is served from the reserve at once')
  t.same(
    verdict({ spent: times(89, T0), mine: times(44, T0), callers: 2 }),
    { ok: true },
    'under its fair part of 45, a caller may take the last calls',
  )
  t.match(verdict({ spent: times(80, T0), mine: times(45, T0), callers: 2 }), { ok: false, used: 45, fair: 45 })
  t.same(verdict({ spent: times(80, T0), mine: times(29, T0), callers: 3 }), { ok: true }, 'three callers: a fair part of 30')
  t.match(verdict({ spent: times(80, T0), mine: times(30, T0), callers: 3 }), { ok: false, fair: 30 })
  t.match(verdict({ spent: times(80, T0), mine: times(22, T0), callers: 4 }), { ok: true }, 'four: ⌈90 ÷ 4⌉ = 23')
  t.match(verdict({ spent: times(80, T0), mine: times(23, T0), callers: 4 }), { ok: false, fair: 23 })
  t.same(verdict({ reserve: 0, spent: times(89, T0), mine: times(89, T0) }), { ok: true }, 'no reserve: the budget alone limits')
  t.match(verdict({ reserve: 0, spent: times(90, T0), mine: times(90, T0) }), { ok: false })
  t.match(verdict({ perMinute: 0, reserve: 0 }), { ok: false, retryAfterMs: 60_000, used: 0 }, 'nothing to spend: a minute')
})

t.test('a refused caller learns when its next call can start', async (t) => {
  // The organization's calls: 67 at T0 − 60 s + 1 s … ; the caller's 50 calls one second apart, the first at T0 − 55 s.
  const spent = Array.from({ length: 67 }, (_, i) => T0 - 59_000 + i * 10)
  const mine = Array.from({ length: 50 }, (_, i) => T0 - 55_000 + i * 1000)
  const refused = verdict({ spent, mine, callers: 2 })
  // More than the reserve is left once the oldest call of the minute leaves it, 1 s from now.
  t.match(refused, { ok: false, retryAfterMs: 1000, used: 50, fair: 45 })
  // Without those, when its 6th oldest call leaves the minute (45 left, under its fair part): 10 s.
  const later = verdict({ spent: Array(67).fill(T0 - 1000), mine, callers: 2 })
  t.match(later, { ok: false, retryAfterMs: 10_000 })
  // The organization's minute frees first when 68 calls are in it: its second oldest must leave.
  t.match(verdict({ spent: [T0 - 59_000, T0 - 58_000, ...Array(66).fill(T0)], mine, callers: 2 }), { retryAfterMs: 2000 })
  t.match(verdict({ reserve: 90, spent: [], mine, callers: 2 }), { retryAfterMs: 10_000 }, 'a reserve of the whole budget never frees')
})

t.test('in process: the share on the in-process budget’s part, over a sliding minute', async (t) => {
  const clock = { ms: T0 }
  const budget: { part: BudgetPart } = { part: { perMinute: 10, reserve: 3, calls: [] } }
  const share = createLocalCallerShare(
    () => budget.part,
    () => clock.ms,
  )
  const spend = (n: number) => {
    budget.part = { ...budget.part, calls: [...budget.part.calls, ...Array(n).fill(clock.ms)] }
  }
  for (let i = 0; i < 7; i++) {
    t.same(await share.take(ORG, 'shop'), { ok: true })
    spend(1)
  }
  t.match(await share.take(ORG, 'shop'), { ok: false, used: 7, fair: 5, retryAfterMs: 60_000 }, 'alone: 10 − 3')
  t.match(await share.take(ORG, 'shop'), { ok: false, used: 7 }, 'a refusal is not counted')
  t.same(await share.take(ORG, 'pos'), { ok: true }, 'the other caller gets the reserve')
  t.same(await share.take('10234696', 'shop'), { ok: true }, 'another organization has its own minute')
  clock.ms = T0 + 59_999
  t.equal((await share.take(ORG, 'shop')).ok, false, 'a call 59.999 s old is still in the minute')
  clock.ms = T0 + 60_000
  t.same(await share.take(ORG, 'shop'), { ok: true }, 'its calls (and the organization’s) have left the minute')
  t.same(await share.take(`${ORG}\nshop`, ''), { ok: true }, 'names cannot run into each other')
})

t.test('in process: calls allowed but not yet in the budget count too (concurrent look-ups cannot overshoot)', async (t) => {
  // The budget sees none of them: their fetches have not started.
  const share = createLocalCallerShare(
    () => ({ perMinute: 10, reserve: 3, calls: [] }),
    () => T0,
  )
  const answers = await Promise.all(Array.from({ length: 12 }, () => share.take(ORG, 'shop')))
  t.equal(answers.filter((a) => a.ok).length, 7, '10 − 3, as if the budget had counted them')
  // The budget's count wins when it is the larger (other calls: background, admin keys).
  const busy = createLocalCallerShare(
    () => ({ perMinute: 10, reserve: 3, calls: Array(7).fill(T0) }),
    () => T0,
  )
  for (let i = 0; i < 5; i++) busy.note(ORG, 'shop', true)
  t.match(await busy.take(ORG, 'shop'), { ok: false, used: 5, fair: 5 }, 'the reserve is reached by the budget’s 7 calls')
})

t.test('in process: as many calls allowed as in the budget: a refusal waits on the budget’s, which came later', async (t) => {
  const clock = { ms: T0 }
  // Each call allowed at T0 and T0 + 10 s reached the budget 5 s after it was allowed.
  const budget: { part: BudgetPart } = { part: { perMinute: 2, reserve: 0, calls: [] } }
  const share = createLocalCallerShare(
    () => budget.part,
    () => clock.ms,
  )
  t.same(await share.take(ORG, 'shop'), { ok: true })
  clock.ms = T0 + 10_000
  t.same(await share.take(ORG, 'shop'), { ok: true })
  budget.part = { ...budget.part, calls: [T0 + 5_000, T0 + 15_000] }
  clock.ms = T0 + 20_000
  // Allowed [T0, T0 + 10 s], the budget's [T0 + 5 s, T0 + 15 s]: the budget's first call leaves the minute at T0 + 65 s.
  t.match(await share.take(ORG, 'shop'), { ok: false, used: 2, fair: 1, retryAfterMs: 45_000 })
})

t.test('in process: the callers that asked are counted over the minute; a noted take counts like one', async (t) => {
  const clock = { ms: T0 }
  // 9 of 10 calls spent: every take is decided by the fair part.
  const share = createLocalCallerShare(
    () => ({ perMinute: 12, reserve: 3, calls: Array(9).fill(T0) }),
    () => clock.ms,
  )
  share.note(ORG, 'a', true)
  share.note(ORG, 'a', true)
  share.note(ORG, 'b', false)
  share.note(ORG, 'c', false)
  // Three callers asked: a fair part of 4; "a" has 2.
  t.same(await share.take(ORG, 'a'), { ok: true })
  t.same(await share.take(ORG, 'a'), { ok: true })
  t.match(await share.take(ORG, 'a'), { ok: false, used: 4, fair: 4 })
  clock.ms = T0 + 60_000
  // b and c asked a minute ago: only a is left (counted as two): a fair part of 6, its calls gone.
  t.same(await share.take(ORG, 'a'), { ok: true })
})

t.test('in process: a caller that has not asked for a minute is no longer counted, to the millisecond', async (t) => {
  const clock = { ms: T0 }
  // 9 of 12 calls spent: every take is decided by the fair part.
  const share = createLocalCallerShare(
    () => ({ perMinute: 12, reserve: 3, calls: Array(9).fill(clock.ms) }),
    () => clock.ms,
  )
  for (const name of ['a', 'b', 'c']) share.note(ORG, name, false)
  clock.ms = T0 + 30_000
  for (let i = 0; i < 4; i++) share.note(ORG, 'a', true)
  clock.ms = T0 + 59_999
  t.match(await share.take(ORG, 'a'), { ok: false, used: 4, fair: 4 }, 'b and c asked 59.999 s ago: three callers')
  clock.ms = T0 + 60_000
  // b and c asked a minute ago; a, asked again since, is the only one (counted as two): a fair part of 6.
  t.same(await share.take(ORG, 'a'), { ok: true })
})

t.test('in process: at most 10,000 callers are remembered, the least recently charged forgotten first', async (t) => {
  const clock = { ms: T0 }
  const share = createLocalCallerShare(
    () => ({ perMinute: 2, reserve: 2, calls: [] }),
    () => clock.ms,
  )
  await share.take(ORG, 'first')
  t.equal((await share.take(ORG, 'first')).ok, false)
  for (let i = 0; i < 9_999; i++) share.note(ORG, `caller-${i}`, true)
  t.equal((await share.take(ORG, 'first')).ok, false, '10,000 callers: the first is still known')
  share.note(ORG, 'one-more', true)
  share.note(ORG, 'caller-0', true)
  t.equal((await share.take(ORG, 'caller-0')).ok, false, 'a recently charged caller is still known')
  t.equal((await share.take(ORG, 'caller-1')).ok, true, 'the least recently charged is forgotten')
})
