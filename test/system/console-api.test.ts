import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { FACT_NAMES, FACTS, OPERATOR_NAMES, PAYMENT_FACTS, RECEIVABLES_FACTS } from '../../src/rules/catalogue.js'
import { SANDBOX_ORGANIZATIONS } from '../../src/sandbox/embedded.js'
import { eventually, ORG, ORG2, problem, startApp, startSandbox } from '../helpers/app.js'

/**
 * What the credit console reads besides the views' own routes: the fact catalogue (GET /rules/facts)
 * instead of a copy of it, the organizations it may pick (GET /rules → organizations, with name,
 * base currency and which is the default), and the decisions and cases of one organization.
 */
const ADMIN_KEY = 'ops-key-0123456789abcdef0'
const CALLER_KEY = 'shop-key-0123456789abcdef'
const admin = { authorization: `Bearer ${ADMIN_KEY}` }

t.test('the fact catalogue, the organizations, and one organization’s decisions and cases', async (t) => {
  const dir = t.testdir({})
  const organizationsFile = join(dir, 'organizations.json')
  await writeFile(organizationsFile, JSON.stringify(SANDBOX_ORGANIZATIONS))
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    env: { API_KEYS: `shop:${CALLER_KEY}`, ADMIN_API_KEYS: `ops:${ADMIN_KEY}`, ORGANIZATIONS_FILE: organizationsFile },
  })

  await t.test('GET /rules/facts: every fact of the catalogue with its kind and source, every operator in words', async (t) => {
    problem(t, await app.inject({ url: '/rules/facts' }), 401, 'unauthorized')
    const res = await app.inject({ url: '/rules/facts', headers: { authorization: `Bearer ${CALLER_KEY}` } })
    t.equal(res.statusCode, 200, 'any key may read it, as GET /rules')
    const { facts, operators } = res.json() as {
      facts: { name: string; kind: string; source: string; nullable: boolean; description: string }[]
      operators: { name: string; words: string }[]
    }
    t.same(
      facts.map((f) => f.name),
      FACT_NAMES,
      'every fact, in the catalogue’s order',
    )
    for (const f of facts) t.same(f, { name: f.name, ...FACTS[f.name as keyof typeof FACTS] }, f.name)
    t.same(
      facts.filter((f) => f.kind === 'amount').map((f) => f.name),
      [
        'outstanding_bcy',
        'unused_credits_bcy',
        'credit_limit',
        'order_amount',
        'exposure_bcy',
        'available_credit_bcy',
        'overdue_bcy',
        'open_orders_bcy',
        'reserved_bcy',
        'exposure_with_orders_bcy',
        'group_exposure_bcy',
      ],
      'the amounts',
    )
    t.same(
      operators.map((o) => o.name),
      OPERATOR_NAMES,
    )
    t.equal(operators.find((o) => o.name === 'greaterThan')?.words, 'is more than')
    t.equal(operators.find((o) => o.name === 'notIn')?.words, 'is not one of')
  })

  t.test('a fact’s source agrees with the sets the engine reads facts by', async (t) => {
    for (const name of FACT_NAMES) {
      const { source } = FACTS[name]
      t.equal(source === 'payments', PAYMENT_FACTS.has(name), `${name}: payments`)
      // reserved_bcy is counted with the receivables facts (read on the same path), from the reservations.
      t.equal(source === 'receivables' || source === 'reservations', RECEIVABLES_FACTS.has(name), `${name}: receivables`)
    }
    t.end()
  })

  await t.test('GET /rules lists the organizations with name, base currency and the default', async (t) => {
    await eventually(() => app.zoho.baseCurrency(ORG2) === 'AED', 'the base currencies')
    const res = await app.inject({ url: '/rules', headers: admin })
    t.match(res.json().organizations, [
      { organization_id: ORG, name: 'Northwind Traders India', base_currency: 'INR', default: true, own: false },
      { organization_id: ORG2, name: 'Northwind Gulf', base_currency: 'AED', default: false, own: true },
    ])
  })

  await t.test('GET /decisions and GET /cases with organization_id: that organization’s only', async (t) => {
    const hold = async (contact: string, org: string, reference: string) => {
      const res = await app.inject({
        method: 'POST',
        url: `/contacts/${contact}/risk`,
        headers: { authorization: `Bearer ${CALLER_KEY}` },
        payload: { organization_id: org, order: { amount: 1000, reference } },
      })
      t.equal(res.statusCode, 200)
      return res.json().case?.case_id as string
    }
    const first = await hold('460000000026049', ORG, 'SO-IN-1')
    const second = await hold('470000000010002', ORG2, 'SO-AE-1')
    t.ok(first && second, 'both orders held')
    await app.history.flush()

    const decisions = async (query: string) =>
      (await app.inject({ url: `/decisions?${query}`, headers: admin }))
        .json()
        .decisions.map((d: { organization_id: string }) => d.organization_id)
    t.same(await decisions(''), [ORG2, ORG], 'without organization_id: every organization, newest first')
    t.same(await decisions(`organization_id=${ORG2}`), [ORG2])
    t.same(await decisions(`organization_id=${ORG}`), [ORG])

    const cases = async (query: string) =>
      (await app.inject({ url: `/cases?${query}`, headers: admin })).json().cases.map((c: { case_id: string }) => c.case_id)
    t.same((await cases('')).sort(), [first, second].sort(), 'without organization_id: every organization')
    t.same(await cases(`organization_id=${ORG2}`), [second])
    t.same(await cases(`organization_id=${ORG}&state=open`), [first])

    problem(t, await app.inject({ url: '/decisions?organization_id=555', headers: admin }), 403, 'forbidden')
    problem(t, await app.inject({ url: '/cases?organization_id=555', headers: admin }), 403, 'forbidden')
    problem(t, await app.inject({ url: '/cases?organization_id=0123', headers: admin }), 400, 'invalid_request')
  })
})
