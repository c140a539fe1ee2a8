import t, { type Test } from 'tap'
import { groupKeys } from '../../src/adapters/redis/group-balances.js'
import { loadConfig } from '../../src/config.js'
import { ACME_CRM_ACCOUNT } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { ORG, ORG2, startApp, startSandbox, type TestApp } from '../helpers/app.js'
import { organizationsFile, throwsOneLine } from '../helpers/organizations-file.js'
import { startRedis } from '../helpers/redis.js'

/**
 * Group exposure (issue 27): a customer linked across the sandbox's two organizations — Acme
 * Retail, 62,400 INR outstanding in India (ORG) and 19,000 AED in the Gulf (ORG2), the same Zoho
 * CRM account — is decided on what it owes in both, converted with the group's rate (1 AED =
 * 22.6 INR); an unlinked one on its own. The sandbox counts the listing calls Zoho receives.
 */

t.setTimeout(240_000)

const ACME_INDIA = '460000000026049'
const ACME_GULF = '470000000010003'
const BRANCH = '470000000010001'
const ALLOWED = { ZOHO_ORGANIZATION_ID: ORG, ZOHO_ORGANIZATION_IDS: `${ORG},${ORG2}` }
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

const GROUP = {
  id: 'northwind',
  organizations: [ORG, ORG2],
  link: 'zcrm_account_id',
  currency: 'INR',
  rates: { [ORG]: 1, [ORG2]: 22.6 },
}

/** One rule on the group's exposure: over 20,000 (of the deciding organization's base currency) is blocked. */
const groupRules = (t: Test) =>
  t.testdir({
    'group-over-20000.json': json({
      name: 'group-over-20000',
      conditions: { all: [{ fact: 'group_exposure_bcy', operator: 'greaterThan', value: 20000 }] },
      event: { type: 'block', params: { code: 'GROUP_OVER_LIMIT', message: 'Group exposure {{group_exposure_bcy}} over 20,000' } },
    }),
  })

async function setup(t: Test, env: Record<string, string> = {}, group: unknown = GROUP, sandbox?: Sandbox) {
  const zoho = sandbox ?? (await startSandbox(t))
  const file = await organizationsFile(t, { organizations: [{ organization_id: ORG }, { organization_id: ORG2 }], groups: [group] })
  const { app } = await startApp(t, zoho, {
    env: { ...ALLOWED, RULES_DIR: groupRules(t), ORGANIZATIONS_FILE: file, RATE_LIMIT_PER_MINUTE: '0', ...env },
  })
  return { sandbox: zoho, app }
}

const decide = (app: TestApp['app'], org: string, id: string, order?: number) =>
  app.inject({
    method: 'POST',
    url: `/contacts/${id}/risk`,
    payload: { organization_id: org, ...(order === undefined ? {} : { order: { amount: order } }) },
  })

t.test('a linked customer is decided on its exposure in both organizations, converted; an unlinked one on its own', async (t) => {
  const { sandbox, app } = await setup(t)
  const gulf = (await decide(app, ORG2, ACME_GULF)).json()
  // 19,000 AED here + 62,400 INR ÷ 22.6 = 2,761.06 AED in India.
  t.equal(gulf.facts.group_exposure_bcy, 21761.06, 'Acme Retail Gulf: 19,000 + 2,761.06 AED')
  t.equal(gulf.facts.exposure_bcy, 19000)
  t.equal(gulf.decision, 'block', 'the rule on group_exposure_bcy blocks')
  t.match(gulf.reasons, [{ code: 'GROUP_OVER_LIMIT', message: 'Group exposure 21,761.06 over 20,000' }])

  const india = (await decide(app, ORG, ACME_INDIA, 1000)).json()
  // 62,400 + an order of 1,000 INR here + 19,000 AED × 22.6 = 429,400 INR in the Gulf.
  t.equal(india.facts.group_exposure_bcy, 492800, 'Acme Retail India: 63,400 + 429,400 INR, the other way round')

  const branch = (await decide(app, ORG2, BRANCH, 500)).json()
  t.equal(branch.facts.group_exposure_bcy, 3000, 'an unlinked customer (zcrm_account_id ""): its own 2,500 + 500 only')
  t.equal(branch.decision, 'allow')

  // The decisions read the listings; only the other organizations were listed, once each.
  t.equal(sandbox.stats.byList.get('contacts'), 2, 'one contacts page per organization')
  t.same(
    sandbox.stats.listRequests
      .filter((r) => r.startsWith('/contacts'))
      .map((r) => new URLSearchParams(r.split('?')[1]).get('organization_id'))
      .sort(),
    [ORG, ORG2],
  )
  for (let i = 0; i < 5; i++) await decide(app, ORG2, ACME_GULF)
  t.equal(sandbox.stats.byList.get('contacts'), 2, 'more decisions: no more listing calls')

  const rules = (await app.inject({ url: '/readyz' })).json()
  t.match(rules.checks['group-exposure'].detail, /10234695: \d+ s old/)
})

t.test('a custom field may link the customers; a customer linked in one organization only adds nothing', async (t) => {
  const sandbox = await startSandbox(t)
  const field = (value: string) => [{ api_name: 'cf_group_customer', label: 'Group customer', value, data_type: 'string', index: 1 }]
  const india = sandbox.organizations.get(ORG)?.get(ACME_INDIA) as Record<string, unknown>
  const gulf = sandbox.organizations.get(ORG2)?.get(ACME_GULF) as Record<string, unknown>
  const branch = sandbox.organizations.get(ORG2)?.get(BRANCH) as Record<string, unknown>
  india.custom_fields = field('ACME')
  gulf.custom_fields = field(' ACME ')
  branch.custom_fields = field('NOBODY-ELSE')
  const { app } = await setup(t, {}, { ...GROUP, link: 'cf_group_customer' }, sandbox)
  t.equal((await decide(app, ORG2, ACME_GULF)).json().facts.group_exposure_bcy, 21761.06, 'the same value, trimmed')
  t.equal((await decide(app, ORG2, BRANCH)).json().facts.group_exposure_bcy, 2500, 'no customer of that value in India')
})

t.test('without a usable listing the decision follows FAIL_MODE; an unlinked customer needs none', async (t) => {
  for (const failMode of ['closed', 'review'] as const) {
    const sandbox = await startSandbox(t)
    // Every contacts listing fails (Zoho's internal error, retried and given up).
    for (let i = 0; i < 50; i++) sandbox.faults.list.push({ status: 500, body: { code: 1000, message: 'Internal Error' } })
    const { app } = await setup(t, { FAIL_MODE: failMode, ZOHO_TIMEOUT_MS: '2000' }, GROUP, sandbox)
    const res = await decide(app, ORG2, ACME_GULF)
    if (failMode === 'closed') {
      t.equal(res.statusCode, 503, 'FAIL_MODE=closed: 503')
      t.equal(res.json().code, 'upstream_unavailable')
      t.match(res.json().detail, /no group balances of organization 10234695 \(group northwind\) have been read from Zoho yet/)
    } else {
      t.equal(res.statusCode, 200)
      t.match(res.json(), { decision: 'review', reasons: [{ code: 'GROUP_EXPOSURE_UNAVAILABLE' }], facts: null })
    }
    const unlinked = await decide(app, ORG2, BRANCH)
    t.equal(unlinked.json().facts.group_exposure_bcy, 2500, `${failMode}: an unlinked customer is decided on its own`)
  }
})

t.test('two instances share one listing through Redis', async (t) => {
  const sandbox = await startSandbox(t)
  const redis = await startRedis(t)
  const one = await setup(t, { REDIS_URL: redis.url }, GROUP, sandbox)
  const two = await setup(t, { REDIS_URL: redis.url }, GROUP, sandbox)
  t.equal((await decide(one.app, ORG2, ACME_GULF)).json().facts.group_exposure_bcy, 21761.06)
  t.equal((await decide(two.app, ORG2, ACME_GULF)).json().facts.group_exposure_bcy, 21761.06)
  t.equal(sandbox.stats.byList.get('contacts'), 1, 'India listed once for both instances')
  t.match(await redis.client.get(groupKeys(ORG).snapshot), `"${ACME_CRM_ACCOUNT}":62400`, 'the balances are in Redis, by link value')
})

t.test('a wrong group stops start-up with one line naming it', async (t) => {
  const cases: [unknown, RegExp][] = [
    [
      { ...GROUP, organizations: [ORG, '555'], rates: { [ORG]: 1, 555: 2 } },
      /groups\[0\] \(northwind\) organizations: 555 is not in ZOHO_ORGANIZATION_IDS$/,
    ],
    [{ ...GROUP, rates: { [ORG]: 1 } }, /groups\[0\] \(northwind\) rates: no rate for 10234696$/],
    [{ ...GROUP, rates: { ...GROUP.rates, 777: 3 } }, /groups\[0\] \(northwind\) rates: 777 is not one of the group's organizations$/],
    [{ ...GROUP, rates: { [ORG]: 1, [ORG2]: 0 } }, /groups\[0\] \(northwind\) rates\.10234696: /],
    [{ ...GROUP, link: 'customer_name' }, /groups\[0\] \(northwind\) link: must be "zcrm_account_id" or a custom field/],
    [{ ...GROUP, organizations: [ORG] }, /groups\[0\] \(northwind\) organizations: a group has at least two organizations/],
  ]
  for (const [group, message] of cases) {
    const file = await organizationsFile(t, { organizations: [{ organization_id: ORG }], groups: [group] })
    throwsOneLine(t, () => loadConfig({ ...ALLOWED, ORGANIZATIONS_FILE: file }), message)
  }
  const twice = await organizationsFile(t, {
    organizations: [{ organization_id: ORG }],
    groups: [GROUP, { ...GROUP, id: 'other' }],
  })
  t.throws(
    () => loadConfig({ ...ALLOWED, ORGANIZATIONS_FILE: twice }),
    /^invalid configuration: ORGANIZATIONS_FILE groups\[1\] \(other\) organizations: 10234695 is already in group northwind$/,
  )
})
