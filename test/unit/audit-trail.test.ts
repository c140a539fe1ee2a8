import t from 'tap'
import { createLocalAudit } from '../../src/adapters/local/audit.js'
import type { NewAuditEntry } from '../../src/domain/audit.js'

/**
 * The audit trail kept in this process (without Redis, and while Redis is down): newest first,
 * paged by the position of the last entry seen, entries of one millisecond kept in their order,
 * and only the newest `max` kept.
 */

const entry = (at: string, contactId: string): NewAuditEntry => ({ at, kind: 'cache.purged', by: 'ops', contact_id: contactId })

t.test('newest first, paged by position; entries of one millisecond in their order; a clock going back keeps the order', async (t) => {
  const trail = createLocalAudit()
  await trail.append(entry('2026-12-07T10:00:00.000Z', 'a'))
  await trail.append(entry('2026-12-07T10:00:00.000Z', 'b'))
  await trail.append(entry('2026-12-07T10:00:01.000Z', 'c'))
  await trail.append(entry('2026-12-07T09:59:00.000Z', 'd')) // an earlier time: placed after c all the same
  const first = await trail.page(undefined, 3)
  t.same(
    first.map((e) => [e.contact_id, e.id]),
    [
      ['d', `${Date.parse('2026-12-07T10:00:01.000Z')}-1`],
      ['c', `${Date.parse('2026-12-07T10:00:01.000Z')}-0`],
      ['b', `${Date.parse('2026-12-07T10:00:00.000Z')}-1`],
    ],
  )
  const rest = await trail.page(first.at(-1)?.id, 3)
  t.same(
    rest.map((e) => e.contact_id),
    ['a'],
    'the page after the last entry seen',
  )
  t.same(await trail.page(rest.at(-1)?.id, 3), [], 'nothing older')
})

t.test('only the newest max entries are kept', async (t) => {
  const trail = createLocalAudit(2)
  for (const [i, id] of ['a', 'b', 'c'].entries()) await trail.append(entry(`2026-12-07T10:00:0${i}.000Z`, id))
  t.same(
    (await trail.page(undefined, 10)).map((e) => e.contact_id),
    ['c', 'b'],
  )
})
