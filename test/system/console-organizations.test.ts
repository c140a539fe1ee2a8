/// <reference lib="dom" />
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { SANDBOX_ORGANIZATIONS } from '../../src/sandbox/embedded.js'
import { eventually, ORG, ORG2, startApp, startSandbox } from '../helpers/app.js'
import { launchChromium } from '../helpers/browser.js'

/**
 * The console's organization picker (issue 27) in Chromium, on the sandbox's two organizations
 * (10234695 in INR with the shared rules, 10234696 in AED with its own): picking the second shows
 * its rules, base currency, decisions and cases only, and every request the page makes then names
 * it; "all" shows both; the address keeps the choice across a reload.
 */
const ADMIN_KEY = 'ops-key-0123456789abcdef0'
const CALLER_KEY = 'shop-key-0123456789abcdef'
/** Routes about one organization or all: with one picked, each must carry organization_id. */
const SCOPED = /^\/(rules|rules\/shadow|decisions|cases|receivables|contacts\/\d+\/(risk|receivables|payments|reservations))$/

t.test('the organization picker: one organization, all, and a reload', async (t) => {
  const dir = t.testdir({})
  const organizationsFile = join(dir, 'organizations.json')
  await writeFile(organizationsFile, JSON.stringify(SANDBOX_ORGANIZATIONS))
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, {
    env: { API_KEYS: `shop:${CALLER_KEY}`, ADMIN_API_KEYS: `ops:${ADMIN_KEY}`, ORGANIZATIONS_FILE: organizationsFile },
  })
  await eventually(() => app.zoho.baseCurrency(ORG) === 'INR' && app.zoho.baseCurrency(ORG2) === 'AED', 'the base currencies')
  const base = await app.listen({ port: 0, host: '127.0.0.1' })

  // An order held in each organization (each over its own threshold: 50,000 INR and 20,000 AED).
  const hold = async (contact: string, org: string, reference: string) => {
    const res = await app.inject({
      method: 'POST',
      url: `/contacts/${contact}/risk`,
      headers: { authorization: `Bearer ${CALLER_KEY}` },
      payload: { organization_id: org, order: { amount: 1000, reference } },
    })
    return res.json().case.case_id as string
  }
  const indian = await hold('460000000026049', ORG, 'SO-IN-1')
  const gulf = await hold('470000000010002', ORG2, 'SO-AE-1')
  await app.history.flush()

  const browser = await launchChromium(t)
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  const asked: URL[] = []
  page.on('request', (req) => {
    const url = new URL(req.url())
    if (SCOPED.test(url.pathname)) asked.push(url)
  })
  await page.addInitScript((key) => sessionStorage.setItem('creditgate.console.key', key), ADMIN_KEY)
  const shownCases = () =>
    page.locator('#cases-open [data-case-id]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.caseId))

  await t.test('all organizations: both in the overview, both cases on the worklist', async (t) => {
    await page.goto(`${base}/console#overview`)
    await page.locator('#rules-organizations li').nth(1).waitFor()
    t.same(await page.locator('#organization option').allTextContents(), [
      'All organizations',
      'Northwind Traders India (10234695, INR)',
      'Northwind Gulf (10234696, AED)',
    ])
    t.equal(await page.locator('#organization').inputValue(), '', 'all, by default')
    const each = await page.locator('#rules-organizations li').allTextContents()
    t.match(each[0], /Northwind Traders India \(10234695, INR\): the shared set sha256:.*base currency INR/)
    t.match(each[1], /Northwind Gulf \(10234696, AED\): its own set sha256:.*base currency AED/)
    await page.locator('#timeline-note').filter({ hasText: 'recorded since' }).waitFor()
    t.match(await page.locator('#timeline-note').textContent(), /^2 decisions recorded since/)
    t.equal(await page.locator('#budget meter').count(), 2)
    await page.locator('nav a[data-view="cases"]').click()
    await page.locator(`#cases-open [data-case-id="${gulf}"]`).waitFor()
    t.same((await shownCases()).sort(), [indian, gulf].sort())
    t.ok(
      asked.every((url) => !url.searchParams.has('organization_id')),
      'no organization named: every organization (the service’s answer for none)',
    )
  })

  await t.test('the second organization: its cases, rules and base currency only; every request names it', async (t) => {
    asked.length = 0
    await page.locator('#organization').selectOption(ORG2)
    await page.waitForURL(`${base}/console#cases?org=${ORG2}`)
    await page.locator(`#cases-open [data-case-id="${gulf}"]`).waitFor()
    await page.locator(`#cases-open [data-case-id="${indian}"]`).waitFor({ state: 'detached' })
    t.same(await shownCases(), [gulf])

    await page.locator('nav a[data-view="overview"]').click()
    await page.waitForURL(`${base}/console#overview?org=${ORG2}`)
    await page
      .locator('#timeline-note')
      .filter({ hasText: /^1 decisions recorded/ })
      .waitFor()
    t.same(await page.locator('#rules-organizations li').count(), 1)
    t.match(await page.locator('#rules-organizations').textContent(), /Northwind Gulf \(10234696, AED\): its own set .*base currency AED/)
    t.match(await page.locator('#rules-status dl').textContent(), /its own set/)
    t.same(await page.locator('#budget meter').evaluateAll((els) => els.map((e) => e.id)), [`budget-${ORG2}`])

    await page.locator('nav a[data-view="rules"]').click()
    await page.locator('#active-summary').filter({ hasText: 'Northwind Gulf' }).waitFor()
    t.match(await page.locator('#active-summary').textContent(), /its own set/)
    t.match(await page.locator('#active-table').textContent(), /outstanding bcy is more than 20,000\.00/)
    t.notMatch(await page.locator('#active-table').textContent(), /more than 50,000\.00/, 'not the shared threshold')

    await page.locator('nav a[data-view="customer"]').click()
    await page.locator('#customer-id').fill('470000000010002')
    await page.locator('#customer-id').press('Enter')
    await page.waitForURL(`${base}/console#customer/470000000010002?org=${ORG2}`)
    await page.locator('#decision-title .badge.block').waitFor()
    t.match(
      await page.locator('#customer-out .messages').first().textContent(),
      /Outstanding receivables 51,000\.00 AED exceed 20,000\.00 AED/,
    )
    await page.locator(`#customer-out [data-case-id="${gulf}"]`).waitFor()

    await page.locator('nav a[data-view="portfolio"]').click()
    await page.locator('#portfolio-table').waitFor()
    t.same(await page.locator('#portfolio-table tbody').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.organizationId)), [
      ORG2,
    ])

    t.ok(asked.length >= 8, `${asked.length} requests about the organization`)
    const unnamed = asked.filter((url) => url.searchParams.get('organization_id') !== ORG2).map((url) => url.pathname)
    t.same(unnamed, [], 'every one named the organization picked')
  })

  await t.test('a reload keeps the organization; "all" shows both again', async (t) => {
    await page.goto(`${base}/console#cases?org=${ORG2}`)
    await page.reload()
    await page.locator(`#cases-open [data-case-id="${gulf}"]`).waitFor()
    t.equal(await page.locator('#organization').inputValue(), ORG2, 'the picker says so')
    t.same(await shownCases(), [gulf])
    await page.locator('#organization').selectOption('')
    await page.waitForURL(`${base}/console#cases`)
    await page.locator(`#cases-open [data-case-id="${indian}"]`).waitFor()
    t.same((await shownCases()).sort(), [indian, gulf].sort())

    await page.locator('nav a[data-view="portfolio"]').click()
    await page.locator('#portfolio-table tbody').nth(1).waitFor()
    t.same(await page.locator('#portfolio-table tbody').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.organizationId)), [
      ORG,
      ORG2,
    ])
    t.match(await page.locator('#portfolio-summary').textContent(), /organization Northwind Traders India .*organization Northwind Gulf/)
  })
  t.same(errors, [], 'no error thrown by the page')
})
