/// <reference lib="dom" />
import { randomBytes } from 'node:crypto'
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import type { Case } from '../../src/domain/case.js'
import { eventually, problem, startApp, startSandbox } from '../helpers/app.js'
import { launchChromium, postFromPage, signInThroughProvider } from '../helpers/browser.js'
import { CLIENT_SECRET, CONSOLE_CLIENT, startIdp } from '../helpers/idp.js'
import { startRedis } from '../helpers/redis.js'
import { receiver } from '../helpers/webhooks.js'

/**
 * The credit team's side of held orders in headless Chromium: the Cases worklist (release from the
 * page, the signed callback arriving at the order system), the Portfolio against GET /receivables
 * and GET /contacts/{id}/receivables, and people signed in through the identity provider: an
 * approver's release names the approver, a viewer is offered nothing and a forged call is 403.
 */
const SHOP_KEY = 'shop-key-0123456789abcdef'
const OPS_KEY = 'ops-key-0123456789abcdef0'
const SECRET = `whsec_${randomBytes(32).toString('base64')}`
const admin = { authorization: `Bearer ${OPS_KEY}` }

const EASTERN = '460000000031004' // 2,000 of room: a larger order is blocked (releasable)
const MERIDIAN = '460000000031012' // an invoice 45 days past due: review
const ORCHID = '460000000031014' // cf_credit_hold = On: a forced hold, never released

async function setUp(t: Test) {
  const redis = await startRedis(t)
  const idp = await startIdp(t)
  const sandbox = await startSandbox(t)
  const hook = await receiver(t, SECRET)
  const { app } = await startApp(t, sandbox, {
    env: {
      REDIS_URL: redis.url,
      API_KEYS: `shop:${SHOP_KEY}`,
      ADMIN_API_KEYS: `ops:${OPS_KEY}`,
      CALLBACK_URLS: `shop:${hook.url}`,
      CALLBACK_SECRETS: `shop:${SECRET}`,
      ...idp.env,
      OIDC_CLIENT_ID: CONSOLE_CLIENT,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
    },
    deps: { caseTiming: { tickMs: 50, sweepMs: 100 } },
  })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  /** The order system holds an order: its case. */
  const hold = async (contact: string, amount: number, reference: string) => {
    const res = await app.inject({
      method: 'POST',
      url: `/contacts/${contact}/risk`,
      headers: { 'x-api-key': SHOP_KEY },
      payload: { order: { amount, reference } },
    })
    const caseId = res.json().case?.case_id
    if (!caseId) throw new Error(`no case: ${res.body}`)
    return caseId as string
  }
  const get = async (url: string) => (await app.inject({ url, headers: admin })).json()
  return { app, base, idp, hook, hold, get }
}

/** Signs in with the admin key. */
async function withKey(page: Page, base: string) {
  await page.goto(`${base}/console`)
  await page.locator('#login-key').fill(OPS_KEY)
  await page.locator('#login-form button[type=submit]').click()
  await page.locator('#nav').waitFor()
}

/** The figure in a cell, as a number ("62,400.00" → 62400). */
const figure = (text: string | null) => Number((text ?? '').replaceAll(',', ''))

/** The portfolio table's rows as the page shows them. */
const shownRows = (page: Page) =>
  page.locator('#portfolio-table tbody tr').evaluateAll((rows) =>
    rows.map((row) => ({
      id: (row as HTMLElement).dataset.contactId as string,
      name: row.querySelector('bdi')?.textContent ?? null,
      cells: Object.fromEntries([...row.querySelectorAll('td')].map((td) => [(td as HTMLElement).dataset.key, td.textContent])),
    })),
  )

t.test('the worklist, the portfolio and named people in Chromium', async (t) => {
  const { app, base, idp, hook, hold, get } = await setUp(t)
  const eastern = await hold(EASTERN, 5000, 'SO-A1')
  const meridian = await hold(MERIDIAN, 1000, 'SO-M1')
  const orchid = await hold(ORCHID, 500, 'SO-H1')
  const browser = await launchChromium(t)

  await t.test('an admin releases a case from the page; the signed callback arrives', async (t) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await withKey(page, base)
    await page.goto(`${base}/console#cases`)
    await page.locator(`#cases-open [data-case-id="${orchid}"]`).waitFor()
    const shown = await page.locator('#cases-open [data-case-id]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.caseId))
    const open = (await get('/cases?state=open')).cases.map((c: Case) => c.case_id)
    t.same(shown, open, 'the open cases, oldest first, as GET /cases lists them')
    const card = page.locator(`[data-case-id="${eastern}"]`)
    t.match(await card.locator('h3').textContent(), /Eastern Hardware — SO-A1, 5,000\.00/, 'customer name, reference and amount')
    t.match(await card.locator('.messages').textContent(), /CREDIT_LIMIT_EXCEEDED/, 'the reasons in words')
    t.match(await card.locator('.note').first().textContent(), /open, opened .* ago\) by shop/, 'its age and who opened it')
    t.ok(await page.locator(`[data-case-id="${orchid}"] button.release`).isDisabled(), 'a forced hold offers no release')

    await card.locator('input[name=reason]').fill('customer paid by wire')
    await card.locator('input[name=amount]').fill('5200')
    await card.locator('button.release').click()
    await page.locator(`#cases-closed [data-case-id="${eastern}"]`).filter({ hasText: 'customer paid by wire' }).waitFor()
    t.match(
      await page.locator(`#cases-closed [data-case-id="${eastern}"] .history`).textContent(),
      /ops( \(admin\))? released: customer paid by wire/,
    )
    const released = await get(`/cases/${eastern}`)
    t.match(released, { state: 'released', release: { amount: 5200, reason: 'customer paid by wire' } })

    await eventually(() => hook.accepted.some((e) => e.type === 'case.released' && e.data.case_id === eastern), 'the callback', 20_000)
    const event = hook.accepted.find((e) => e.type === 'case.released')
    t.match(event?.data, { case_id: eastern, state: 'released', release: { amount: 5200 } }, 'verified with standardwebhooks')
    t.match(JSON.stringify(event?.data.release), /"ops"/, 'the release names the key')
    t.same(hook.rejected, [], 'every callback verified')
    t.same(errors, [], 'no error in the page')
    await context.close()
  })

  await t.test('the portfolio matches the snapshot API for every customer shown; sort and search work', async (t) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await withKey(page, base)
    await page.goto(`${base}/console#portfolio`)
    await page.locator('#portfolio-table').waitFor()
    const api = await get('/receivables?limit=500')
    let rows = await shownRows(page)
    t.ok(rows.length >= 5, `${rows.length} customers shown`)
    t.equal(rows.length, api.total, 'all of them (fewer than a page)')
    t.same(
      rows.map((r) => r.id),
      api.customers.map((c: { contact_id: string }) => c.contact_id),
      'largest exposure first, as the API sorts',
    )
    for (const row of rows) {
      const listed = api.customers.find((c: { contact_id: string }) => c.contact_id === row.id)
      const own = (await get(`/contacts/${row.id}/receivables`)).receivables
      const overdue = own.ageing.days_1_30 + own.ageing.days_31_60 + own.ageing.days_61_90 + own.ageing.over_90
      t.equal(figure(row.cells.exposure), listed.exposure_bcy, `${row.id} exposure`)
      t.equal(figure(row.cells.overdue), listed.overdue_bcy, `${row.id} overdue`)
      t.equal(figure(row.cells.oldest_overdue_days), listed.oldest_overdue_days, `${row.id} oldest overdue days`)
      t.equal(listed.overdue_bcy, Math.round(overdue * 100) / 100, `${row.id} overdue as GET /contacts/{id}/receivables ages it`)
      t.equal(listed.open_orders_bcy, own.open_orders_bcy, `${row.id} open orders`)
      t.equal(row.name, listed.contact_name, `${row.id} name`)
    }
    t.equal(rows.find((r) => r.id === MERIDIAN)?.name, 'Meridian Foods', 'a customer decided on is named')

    for (const sort of ['overdue', 'oldest_overdue_days']) {
      await page.locator(`button.sort[data-sort="${sort}"]`).click()
      await page.locator(`th[aria-sort] button[data-sort="${sort}"]`).waitFor()
      rows = await shownRows(page)
      const sorted = (await get(`/receivables?sort=${sort}&limit=500`)).customers.map((c: { contact_id: string }) => c.contact_id)
      t.same(
        rows.map((r) => r.id),
        sorted,
        `sorted by ${sort}`,
      )
      const values = rows.map((r) => figure(r.cells[sort] ?? null))
      t.same(
        values,
        [...values].sort((a, b) => b - a),
        `${sort}: largest first`,
      )
    }

    await page.locator('#portfolio-q').fill('meridian')
    await page.locator('#portfolio-form button[type=submit]').click()
    await page.locator('#portfolio-summary').filter({ hasText: 'matching' }).waitFor()
    rows = await shownRows(page)
    t.same(
      rows.map((r) => r.id),
      [MERIDIAN],
      'searched by name, any case',
    )
    t.same(
      (await get('/receivables?q=meridian')).customers.map((c: { contact_id: string }) => c.contact_id),
      [MERIDIAN],
    )

    // Each row links to the customer view, which now shows the customer's cases and reservations.
    await page.locator(`#portfolio-table tr[data-contact-id="${MERIDIAN}"] a`).click()
    await page.waitForURL(`${base}/console#customer/${MERIDIAN}`)
    await page.locator(`#customer-out [data-case-id="${meridian}"]`).waitFor()
    t.match(await page.locator(`#customer-out [data-case-id="${meridian}"] h3`).textContent(), /Meridian Foods — SO-M1/)
    await page.locator('#reservations-title').waitFor()
    await context.close()
  })

  await t.test('an approver signed in through the provider releases; the history names her', async (t) => {
    const context = await browser.newContext()
    const page = await signInThroughProvider(context, base, idp, 'alice')
    t.equal(await page.locator('#who').textContent(), 'Alice Approver (approver)')
    await page.goto(`${base}/console#cases`)
    const card = page.locator(`#cases-open [data-case-id="${meridian}"]`)
    await card.locator('input[name=reason]').fill('owner called, pays Friday')
    await card.locator('button.release').click()
    const closed = page.locator(`#cases-closed [data-case-id="${meridian}"]`)
    await closed.filter({ hasText: 'owner called' }).waitFor()
    t.match(await closed.locator('.history li[data-event=released]').textContent(), /Alice Approver.* released: owner called, pays Friday/)
    const step = (await get(`/cases/${meridian}`)).history.at(-1)
    t.match(step, { event: 'released', reason: 'owner called, pays Friday' })
    t.match(JSON.stringify(step), /Alice Approver/, 'GET /cases/{id} names the approver')
    await context.close()
  })

  await t.test('a viewer sees no release button, and a forged release is 403', async (t) => {
    const pending = await hold(EASTERN, 6000, 'SO-A2')
    const context = await browser.newContext()
    const page = await signInThroughProvider(context, base, idp, 'victor')
    await page.goto(`${base}/console#cases`)
    await page.locator(`#cases-open [data-case-id="${pending}"]`).waitFor()
    t.equal(await page.locator('button.release, button.reject').count(), 0, 'no release or reject offered')
    t.match(await page.locator('#cases-summary').textContent(), /may read cases, not release or reject them/)
    const forged = await postFromPage(page, `/cases/${pending}/release`, { reason: 'forged' })
    t.match(forged, { status: 403, code: 'forbidden', detail: /Victor Viewer \(roles: viewer\) may not use this route/ })
    t.equal((await get(`/cases/${pending}`)).state, 'open', 'still open')
    await context.close()
  })

  problem(t, await app.inject({ url: '/receivables', headers: { 'x-api-key': SHOP_KEY } }), 403, 'forbidden')
})
