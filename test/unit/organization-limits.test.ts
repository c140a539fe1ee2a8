import t from 'tap'
import { createLocalBudget, limitsOf } from '../../src/adapters/local/budget.js'
import { BudgetRefused } from '../../src/adapters/zoho/ports.js'
import { balancesByLink, convert, linkValue } from '../../src/domain/group.js'
import { organizationSettings } from '../../src/organizations.js'

/** Pure pieces of issue 27's budgets and groups: per-organization limits, links, conversion. */

const SMALL = '111'
const LARGE = '222'
const env = (callerReserve: number | undefined) => ({
  receivables: { timeZone: 'UTC' },
  cases: { releaseLimits: [], callbacks: [] },
  zoho: { requestsPerMinute: 90, maxConcurrency: 8, callerReserve },
  organizations: [{ organization_id: SMALL, zoho_requests_per_minute: 10, zoho_max_concurrency: 2 }],
})

t.test('each organization has its own B, concurrency and reserve; the environment for the others', async (t) => {
  const settings = organizationSettings(env(undefined))
  t.same(settings(SMALL).zoho, { requestsPerMinute: 10, maxConcurrency: 2, reserve: 3 }, '⌈10 / 4⌉ of its own B')
  t.same(settings(LARGE).zoho, { requestsPerMinute: 90, maxConcurrency: 8, reserve: 23 }, 'the environment’s')
  const explicit = organizationSettings(env(5))
  t.equal(explicit(SMALL).zoho.reserve, 5, 'ZOHO_CALLER_RESERVE when set')
  t.equal(explicit(LARGE).zoho.reserve, 5)
})

t.test('the in-process budget counts each organization against its own limits', async (t) => {
  const settings = organizationSettings(env(undefined))
  const now = 1_000_000
  const limits = { requestsPerMinute: 90, maxConcurrency: 8, waitMs: 0, reserve: 23, of: (org: string) => settings(org).zoho }
  t.equal(limitsOf(limits, SMALL).requestsPerMinute, 10)
  const budget = createLocalBudget(limits, undefined, () => now)
  // Background work: B − R = 7 of the small organization's minute.
  const first = [await budget.acquire(SMALL, { background: true }), await budget.acquire(SMALL, { background: true })]
  const busy = await budget.acquire(SMALL, { background: true }).catch((err: unknown) => err)
  t.match((busy as BudgetRefused).verdict, { reason: 'busy', limit: 2 }, 'two in flight: its own concurrency')
  for (const release of first) release()
  for (let i = 0; i < 5; i++) (await budget.acquire(SMALL, { background: true }))()
  const refused = await budget.acquire(SMALL, { background: true }).catch((err: unknown) => err)
  t.ok(refused instanceof BudgetRefused, 'the 8th background call waits: the reserve is for decisions')
  t.match((refused as BudgetRefused).verdict, { reason: 'spent', limit: 7 })
  for (let i = 0; i < 3; i++) (await budget.acquire(SMALL))()
  const spent = await budget.acquire(SMALL).catch((err: unknown) => err)
  t.match((spent as BudgetRefused).verdict, { reason: 'spent', limit: 10 }, 'decisions: the whole 10')
  t.same(budget.part(SMALL), { perMinute: 10, reserve: 3, calls: Array(10).fill(now) })
  const held = [await budget.acquire(LARGE), await budget.acquire(LARGE), await budget.acquire(LARGE)]
  t.equal(held.length, 3, 'the large organization goes on, three in flight (its own concurrency, 8)')
  t.equal(budget.part(LARGE).reserve, 23)
})

t.test('links, balances by link and conversion', async (t) => {
  t.equal(linkValue({ zcrm_account_id: ' 2930984000000017001 ' }, 'zcrm_account_id'), '2930984000000017001')
  t.equal(linkValue({ zcrm_account_id: '' }, 'zcrm_account_id'), undefined, 'empty: not linked')
  t.equal(linkValue({ cf_group: 'A' }, 'cf_group'), 'A', 'a listing’s top-level cf_ key')
  t.equal(linkValue({ custom_field_hash: { cf_group: 'B' } }, 'cf_group'), 'B')
  t.equal(linkValue({ custom_fields: [{ api_name: 'cf_group', value: 'C' }] }, 'cf_group'), 'C')
  t.equal(linkValue({ custom_fields: [{ api_name: 'cf_other', value: 'C' }] }, 'cf_group'), undefined)
  const listed = [
    { contact_id: '1', zcrm_account_id: 'X', outstanding_receivable_amount_bcy: 100.1 },
    { contact_id: '2', zcrm_account_id: 'X', outstanding_receivable_amount_bcy: 0.2 },
    { contact_id: '3', zcrm_account_id: '', outstanding_receivable_amount_bcy: '' },
    { contact_id: '4', zcrm_account_id: 'Y', contact_type: 'vendor', outstanding_receivable_amount_bcy: '' },
  ]
  t.same(balancesByLink(listed, 'zcrm_account_id'), new Map([['X', 100.3]]), 'summed exactly; unlinked and vendors skipped unread')
  t.match(
    balancesByLink([{ contact_id: '5', zcrm_account_id: 'Z', outstanding_receivable_amount_bcy: '' }], 'zcrm_account_id'),
    /contact 5: outstanding_receivable_amount_bcy is not an amount/,
    'a linked balance that is not an amount: never zero',
  )
  const group = { rates: { [SMALL]: 1, [LARGE]: 22.6 } }
  t.equal(convert(62400, group, SMALL, LARGE), 2761.06, 'INR → AED')
  t.equal(convert(19000, group, LARGE, SMALL), 429400, 'AED → INR')
})
