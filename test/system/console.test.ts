/// <reference lib="dom" />
import { existsSync } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { chromium, type Page } from 'playwright-core'
import t from 'tap'
import { ageingBuckets } from '../../src/domain/receivables.js'
import { zohoContact } from '../../src/sandbox/contacts.js'
import { contactOnlyRules, ORG, problem, startApp, startSandbox } from '../helpers/app.js'

/**
 * The credit console as operations staff meet it, in headless Chromium (Debian's package, driven
 * by playwright-core, as the Swagger UI test does): sign in with an admin key, the overview after
 * some decisions, a blocked customer's exposure and ageing, a stricter candidate's backtest.
 * Every request stays on creditgate, the page's policy admits no inline script, and nothing is
 * logged as an error.
 */
const CHROMIUM = '/usr/bin/chromium'
const CALLER_KEY = 'shop-key-0123456789abcdef'
const ADMIN_KEY = 'ops-key-0123456789abcdef0'
const ARTIFACTS = 'test-artifacts'

/**
 * The decision history routes (GET /decisions, POST /rules/backtest, GET /rules/shadow) are on this
 * server. Against a server without them the console says "not available on this server" instead;
 * false asserts that (kept for a console pointed at an older server).
 */
const HISTORY_MERGED = true

t.test('ageing buckets: balances by days past due, as the receivables facts count them', async (t) => {
  const today = '2026-06-30'
  const customer = {
    open_orders_bcy: 0,
    invoices: [
      { due_date: '2026-06-30', balance_bcy: 100 }, // due today: not due
      { due_date: null, balance_bcy: 50 }, // no due date: not due
      { due_date: '2026-06-29', balance_bcy: 1 }, // 1 day
      { due_date: '2026-05-31', balance_bcy: 30 }, // 30 days
      { due_date: '2026-05-30', balance_bcy: 31 }, // 31 days
      { due_date: '2026-04-01', balance_bcy: 90 }, // 90 days
      { due_date: '2026-03-31', balance_bcy: 91.005 }, // 91 days
      { due_date: '2026-01-01', balance_bcy: 0 }, // paid: left out
    ],
  }
  t.same(ageingBuckets(customer, today), { not_due: 150, days_1_30: 31, days_31_60: 31, days_61_90: 90, over_90: 91.01 })
})

t.test('console API: receivables by age and the Zoho budget, admin only', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: `shop:${CALLER_KEY}`, ADMIN_API_KEYS: `ops:${ADMIN_KEY}` } })
  const admin = { authorization: `Bearer ${ADMIN_KEY}` }
  const res = await app.inject({ url: '/contacts/460000000031013/receivables', headers: admin })
  t.equal(res.statusCode, 200)
  t.match(res.json(), {
    contact_id: '460000000031013',
    organization_id: '10234695',
    receivables: {
      ageing: { not_due: 0, days_1_30: 15000, days_31_60: 0, days_61_90: 0, over_90: 9000 },
      open_invoices: 2,
      open_orders_bcy: 0,
    },
  })
  const orders = (await app.inject({ url: '/contacts/460000000031015/receivables', headers: admin })).json()
  t.match(orders.receivables, { ageing: { not_due: 30000, over_90: 0 }, open_orders_bcy: 8000 })

  const budget = await app.inject({ url: '/zoho/budget', headers: admin })
  t.equal(budget.statusCode, 200)
  const first = budget.json().organizations.find((o: { organization_id: string }) => o.organization_id === '10234695')
  t.match(first, { requests_per_minute: 90, max_concurrency: 8 })
  t.ok(first.calls_last_minute >= 3, 'the contact and listing calls just made are counted')

  problem(t, await app.inject({ url: '/zoho/budget', headers: { authorization: `Bearer ${CALLER_KEY}` } }), 403, 'forbidden')
  problem(t, await app.inject({ url: '/contacts/460000000031013/receivables' }), 401, 'unauthorized')
  problem(t, await app.inject({ url: '/contacts/12ab/receivables', headers: admin }), 400, 'invalid_contact_id')
})

t.test('console API: without receivables rules nothing is read from Zoho', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN_KEY}`, RULES_DIR: await contactOnlyRules(t) } })
  const res = await app.inject({ url: '/contacts/460000000031013/receivables', headers: { authorization: `Bearer ${ADMIN_KEY}` } })
  t.same(res.json(), { contact_id: '460000000031013', organization_id: '10234695', receivables: null })
  t.equal(sandbox.stats.listCalls, 0, 'no listing call')
})

t.test('console page: its own files only, a strict policy, no inline script', async (t) => {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN_KEY}` } })
  const page = await app.inject({ url: '/console' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, /default-src 'none'/)
  t.match(csp, /script-src 'self'(;|$)/)
  t.match(csp, /style-src 'self'(;|$)/)
  t.match(csp, /connect-src 'self'/)
  t.notMatch(csp, /unsafe-inline|unsafe-eval|https?:/, 'nothing inline, nothing from elsewhere')
  const html = page.body
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])
  t.ok(scripts.length >= 2)
  for (const tag of scripts) t.match(tag, /\ssrc="\/console\/[a-z]+\.js"/, `${tag} loads a file of the console`)
  t.notMatch(html, /\sstyle=|\son[a-z]+=/, 'no inline style or handler attributes')
  for (const file of ['console.js', 'console.css', 'controls.css', 'uplot.js', 'uplot.css']) {
    const asset = await app.inject({ url: `/console/${file}` })
    t.equal(asset.statusCode, 200, file)
    t.ok(asset.body.length > 500, `${file} has content`)
  }
  const slash = await app.inject({ url: '/console/' })
  t.equal(slash.statusCode, 302)
  t.equal(slash.headers.location, '/console')
  problem(t, await app.inject({ url: '/console/..%2Fpackage.json' }), 404, 'not_found')
  problem(t, await app.inject({ url: '/console/nothing.js' }), 404, 'not_found')
})

interface Watch {
  elsewhere: string[]
  problems: string[]
}

/** Counts pixels of one colour on the canvases inside an element: a chart that drew its data. */
async function colouredPixels(page: Page, selector: string, [r, g, b]: [number, number, number]): Promise<number> {
  return page.evaluate(
    ({ selector, r, g, b }) => {
      let n = 0
      for (const canvas of document.querySelectorAll<HTMLCanvasElement>(`${selector} canvas`)) {
        const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? []
        for (let i = 0; i < data.length; i += 4) {
          if (Math.abs((data[i] ?? 0) - r) < 30 && Math.abs((data[i + 1] ?? 0) - g) < 30 && Math.abs((data[i + 2] ?? 0) - b) < 30) n++
        }
      }
      return n
    },
    { selector, r, g, b },
  )
}

t.test('credit console in Chromium: sign in, overview, a blocked customer, a backtest', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (.ci/run installs Debian's chromium)`)
  if (!existsSync(CHROMIUM)) return
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: `shop:${CALLER_KEY}`, ADMIN_API_KEYS: `ops:${ADMIN_KEY}` } })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const caller = { authorization: `Bearer ${CALLER_KEY}` }
  const admin = { authorization: `Bearer ${ADMIN_KEY}` }

  // Some decisions, as an order system would ask for them.
  const asked = [
    ['460000000031001', ''], // allow
    ['460000000031002', '?order_amount=2500'], // allow, alert
    ['460000000026049', ''], // block, alert
    ['460000000031012', ''], // review
    ['460000000031013', ''], // block
    ['460000000031015', '?order_amount=3000'], // block
    ['460000000031008', ''], // allow: exactly 50,000 (the stricter candidate below blocks it)
    ['460000000031005', ''], // allow (four allows, three blocks: the chart's lines do not overlap)
  ] as const
  const outcomes = { allow: 0, review: 0, block: 0 }
  for (const [id, query] of asked) {
    const res = await app.inject({ url: `/contacts/${id}/risk${query}`, headers: caller })
    t.equal(res.statusCode, 200)
    outcomes[res.json().decision as keyof typeof outcomes]++
  }
  t.same(outcomes, { allow: 4, review: 1, block: 3 })

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  t.teardown(() => browser.close())
  await mkdir(ARTIFACTS, { recursive: true })
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const watch: Watch = { elsewhere: [], problems: [] }
  page.on('request', (req) => {
    if (!req.url().startsWith(base)) watch.elsewhere.push(req.url())
  })
  page.on('console', (message) => {
    if (message.type() === 'error') watch.problems.push(`${message.text()} ${new URL(message.location().url || base).pathname}`)
  })
  page.on('pageerror', (err) => watch.problems.push(err.message))
  // Routes of issue 12 are answered 404 before the merge: expected, not a problem of the page.
  page.on('response', (res) => {
    if (res.status() >= 500) watch.problems.push(`${res.status()} ${res.url()}`)
  })
  await page.addInitScript(() => {
    const violations: string[] = []
    Object.assign(window, { violations })
    document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`))
  })

  await t.test('no key and a caller key are refused', async (t) => {
    await page.goto(`${base}/console`)
    await page.locator('#login-key').waitFor()
    t.ok(await page.locator('#nav').isHidden(), 'no view without a key')
    await page.getByRole('button', { name: 'Open the console' }).click()
    t.ok(await page.locator('#login-key').evaluate((el: HTMLInputElement) => el.validity.valueMissing), 'the key is required')
    const status = await page.evaluate(() => fetch('/zoho/budget').then((r) => r.status))
    t.equal(status, 401, 'the API refuses a call without a key')

    await page.locator('#login-key').fill(CALLER_KEY)
    await page.keyboard.press('Enter')
    await page.locator('#login-error', { hasText: 'Refused' }).waitFor()
    t.match(await page.locator('#login-error').textContent(), /may not use admin endpoints.*needs an admin key/)
    t.ok(await page.locator('#nav').isHidden(), 'a caller key opens nothing')
    t.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused key is not kept')
    // The refusals, logged by Chromium as failed loads, are the point of this test.
    t.same(
      watch.problems.splice(0).map((p) => /status of (\d+)/.exec(p)?.[1]),
      ['401', '403'],
      'the two refused calls',
    )
  })

  await t.test('overview: decisions, top codes, budget, rules status', async (t) => {
    await page.locator('#login-key').fill(ADMIN_KEY)
    await page.getByRole('button', { name: 'Open the console' }).click()
    await page.locator('#view-overview').waitFor()
    t.equal(await page.evaluate(() => sessionStorage.getItem('creditgate.console.key')), ADMIN_KEY, 'kept for the tab')
    const chart = page.locator('#timeline-chart')
    await chart.locator('canvas').waitFor()
    await page.locator('#codes-table').waitFor()
    t.match(await chart.getAttribute('aria-label'), /4 allow, 1 review, 3 block/, 'the chart counts the decisions made')
    for (const [decision, rgb] of [
      ['allow', [0x1b, 0x7f, 0x3b]],
      ['block', [0xb4, 0x23, 0x18]],
    ] as const) {
      t.ok((await colouredPixels(page, '#timeline-chart', [...rgb])) > 50, `the chart drew the ${decision} decisions`)
    }
    const codes = await page.locator('#codes-table tbody th code').allTextContents()
    t.ok(codes.includes('OUTSTANDING_OVER_LIMIT'), 'top codes include OUTSTANDING_OVER_LIMIT')
    t.ok(codes.includes('APPLY_CREDITS_FIRST'), 'and the alert APPLY_CREDITS_FIRST')
    if (HISTORY_MERGED) {
      // with issue 12 the overview is built from the decision history.
      t.match(await page.locator('#timeline-note').textContent(), /8 decisions recorded since/)
      t.match(await page.locator('#codes-note').textContent(), /recorded in the last 24 hours/)
      await page.locator('#shadow').getByText('No shadow set is loaded').waitFor()
    } else {
      t.match(await page.locator('#timeline-note').textContent(), /not available on this server.*from \/metrics/)
      await page.locator('#shadow [data-missing]').waitFor()
    }
    const meter = page.locator('#budget-10234695')
    t.equal(await meter.getAttribute('max'), '90')
    t.ok(Number(await meter.getAttribute('value')) > 0, 'Zoho calls of the last minute')
    t.match(await page.locator('#rules-status').textContent(), /sha256:.*11 rules.*none: the last change went live/)
    await page.screenshot({ path: `${ARTIFACTS}/console-overview.png`, fullPage: true })
  })

  await t.test('customer: a blocked customer, its exposure against the limit and its ageing', async (t) => {
    // By keyboard: the Customer link, then the form.
    await page.locator('nav a[data-view="customer"]').focus()
    await page.keyboard.press('Enter')
    await page.locator('#customer-id').waitFor()
    await page.keyboard.type('460000000031015')
    await page.locator('#customer-amount').focus()
    await page.keyboard.type('3000')
    await page.keyboard.press('Enter')
    await page.locator('#decision-title .badge.block').waitFor()
    t.equal(new URL(page.url()).hash, '#customer/460000000031015', 'the view has its own address')
    t.match(
      await page.locator('#customer-out .messages').textContent(),
      /Exposure 41,000\.00 \(outstanding 30,000\.00 \+ open orders 8,000\.00 \+ reserved 0\.00 \+ order 3,000\.00\) exceeds the credit limit of 40,000\.00/,
    )
    t.equal(
      await page.locator('#exposure-bar').getAttribute('aria-label'),
      'Exposure 41,000.00: outstanding 30,000.00 + open orders 8,000.00 + this order 3,000.00; credit limit 40,000.00, over it by 1,000.00.',
    )
    t.equal(await page.locator('#exposure-bar > span').count(), 4, 'three parts and the limit')

    const api = (await app.inject({ url: '/contacts/460000000031015/receivables', headers: admin })).json()
    const ageing = page.locator('#ageing-chart')
    await ageing.locator('canvas').waitFor()
    t.equal(
      await ageing.getAttribute('aria-label'),
      `Open invoices by days past due: Not due ${api.receivables.ageing.not_due.toLocaleString('en-US', { minimumFractionDigits: 2 })}, 1–30 days 0.00, 31–60 days 0.00, 61–90 days 0.00, Over 90 days 0.00`,
    )
    t.ok((await colouredPixels(page, '#ageing-chart', [0xb4, 0x23, 0x18])) > 200, 'the ageing bars are drawn')
    t.match(await page.locator('.trace').textContent(), /credit-limit-exceeded \(block\): fired/)
    t.match(await page.locator('#facts-table').textContent(), /open_orders_bcy8,000\.00Zoho open invoices and sales orders/)
    if (HISTORY_MERGED) {
      // the customer's recorded decisions (the one made before and the console's own).
      await page.locator('#recent-table').waitFor()
      t.ok((await page.locator('#recent-table tbody tr').count()) >= 2)
    } else {
      t.match(await page.locator('#recent-title + [data-missing]').textContent(), /not available on this server/)
    }
    await page.screenshot({ path: `${ARTIFACTS}/console-customer.png`, fullPage: true })

    // The same view on a 390 px phone.
    await page.setViewportSize({ width: 390, height: 844 })
    await page.locator('#customer-form button[type="submit"]').click()
    await page.locator('#ageing-chart canvas').waitFor()
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    t.ok(overflow <= 0, `no sideways scrolling at 390 px (${overflow} px too wide)`)
    await page.screenshot({ path: `${ARTIFACTS}/console-customer-390.png`, fullPage: true })
    await page.setViewportSize({ width: 1280, height: 900 })
  })

  await t.test('customer: how it pays — days to pay by month, review date and limit validity', async (t) => {
    await page.locator('#customer-id').fill('460000000031018')
    await page.locator('#customer-amount').fill('')
    await page.locator('#customer-id').press('Enter')
    await page.locator('#payments-chart canvas').waitFor()
    const api = (await app.inject({ url: '/contacts/460000000031018/payments', headers: admin })).json()
    const label = await page.locator('#payments-chart').getAttribute('aria-label')
    t.match(label, /^Average days to pay by month: /)
    t.ok(
      api.payments.months.every((m: { month: string; avg_days_to_pay: number | null }) =>
        label?.includes(`${m.month} ${m.avg_days_to_pay ?? 'none'}`),
      ),
      'the chart says every month’s figure',
    )
    t.ok((await colouredPixels(page, '#payments-chart', [0x1f, 0x4f, 0xbf])) > 100, 'the bars are drawn')
    t.equal(await page.locator('#payments-title ~ details tbody tr').count(), 12, 'and the numbers behind them')
    t.match(await page.locator('#credit-dates').textContent(), /No credit review date set\. The credit limit has no end date\./)
    const factsText = await page.locator('#facts-table').textContent()
    t.match(factsText, /weighted_days_late_12m\s*16\.5/)
    t.match(factsText, /Zoho paid invoices of 12 months/, 'where the payment facts came from')
    await page.locator('#customer-id').fill('460000000031020')
    await page.locator('#customer-id').press('Enter')
    await page.locator('#decision-title .badge.block').waitFor()
    await page.locator('#credit-dates').waitFor()
    t.match(await page.locator('#credit-dates').textContent(), /The credit limit expired after 2025-12-31\./)
  })

  await t.test('customer: an allowed order’s reservation in the exposure and in the list', async (t) => {
    // An order system's allowed order of 1,500 on 2,000 of room (Eastern Hardware: 38,000 of 40,000).
    const held = await app.inject({
      method: 'POST',
      url: '/contacts/460000000031004/risk',
      headers: caller,
      payload: { order: { amount: 1500, reference: 'SO-CONSOLE-1' } },
    })
    t.equal(held.json().reservation.amount, 1500)
    await page.locator('#customer-id').fill('460000000031004')
    await page.locator('#customer-amount').fill('1000')
    await page.locator('#customer-form button[type="submit"]').click()
    await page.locator('#reservations-total').waitFor()
    t.match(await page.locator('#decision-title').textContent(), /block/)
    t.equal(
      await page.locator('#exposure-bar').getAttribute('aria-label'),
      'Exposure 40,500.00: outstanding 38,000.00 + open orders 0.00 + reserved 1,500.00 + this order 1,000.00; credit limit 40,000.00, over it by 500.00.',
    )
    t.equal(await page.locator('#exposure-bar > span').count(), 5, 'four parts and the limit')
    t.equal(
      await page.locator('#reservations-total').textContent(),
      '1,500.00 reserved by 1 live reservations (kept in this process: no Redis).',
    )
    t.match(await page.locator('#reservations-title + p + table tbody').textContent(), /SO-CONSOLE-11,500\.00liveshop/)
  })

  await t.test('rules: the active set, a candidate with an error, a stricter candidate’s backtest', async (t) => {
    await page.locator('nav a[data-view="rules"]').click()
    await page.locator('#active-table').waitFor()
    t.equal(await page.locator('#active-table tbody tr').count(), 11)
    t.match(await page.locator('#active-table').textContent(), /outstanding bcy is more than 50,000\.00/)

    // A broken file: the error names the file and the JSON path.
    const file = page.locator('details[data-file="outstanding-over-50000.json"]')
    await file.locator('summary').click()
    const text = file.locator('textarea')
    const original = await text.inputValue()
    await text.fill(original.replace('"greaterThan"', '"greaterThen"'))
    await page.getByRole('button', { name: 'Validate' }).click()
    await page.locator('#validation-verdict', { hasText: 'Not valid' }).waitFor()
    t.match(await page.locator('#validation .errors').textContent(), /outstanding-over-50000\.json \$\.conditions\.all\[0\]\.operator/)

    // A stricter candidate: block from 40,000 outstanding.
    await text.fill(original.replace('"value": 50000', '"value": 40000'))
    await page.getByRole('button', { name: 'Validate' }).click()
    await page.locator('#validation-verdict', { hasText: 'Fixtures' }).waitFor()
    const sent = page.waitForRequest((req) => req.url().endsWith('/rules/backtest'))
    await page.getByRole('button', { name: 'Backtest' }).click()
    const body = (await sent).postDataJSON()
    t.match(JSON.stringify(body), /40000/, 'the candidate sent is the edited one')
    if (HISTORY_MERGED) {
      // the matrix shows what the API answers for the same candidate.
      await page.locator('#backtest table.matrix').waitFor()
      const expected = (await app.inject({ method: 'POST', url: '/rules/backtest', headers: admin, payload: body })).json()
      for (const before of ['allow', 'review', 'block']) {
        for (const after of ['allow', 'review', 'block']) {
          const cell = page.locator(`#backtest td[data-before="${before}"][data-after="${after}"]`)
          t.equal(Number(await cell.textContent()), expected.matrix[before][after], `${before} → ${after}`)
        }
      }
      t.equal(await page.locator('#backtest-rules tbody tr').count(), expected.rules.length)
      t.equal(await page.locator('#backtest-examples tbody tr').count(), expected.examples.length)
      // Each example links to the customer view.
      const link = page.locator('#backtest-examples a').first()
      await link.click()
      await page.locator('#decision-title').waitFor()
    } else {
      await page.locator('#backtest [data-missing]').waitFor()
      t.match(await page.locator('#backtest').textContent(), /not available on this server/)
    }
    await page.locator('nav a[data-view="rules"]').click()
    await page.locator('#active-table').waitFor()
    await page.screenshot({ path: `${ARTIFACTS}/console-rules.png`, fullPage: true })
  })

  await t.test('the policy holds: an injected inline script does not run', async (t) => {
    const ran = await page.evaluate(
      () =>
        new Promise<boolean>((resolve) => {
          document.addEventListener('securitypolicyviolation', () => resolve(Boolean((window as { inlineRan?: boolean }).inlineRan)), {
            once: true,
          })
          const script = document.createElement('script')
          script.textContent = 'window.inlineRan = true'
          document.body.append(script)
        }),
    )
    t.equal(ran, false)
    const violations = await page.evaluate(() => (window as unknown as { violations: string[] }).violations)
    t.same(violations, ['script-src-elem inline'], 'the one violation is the injected script')
    watch.problems = watch.problems.filter((p) => !/^Executing inline script violates the following Content Security Policy/.test(p))
  })

  for (const name of ['overview', 'customer', 'rules'])
    t.ok((await stat(`${ARTIFACTS}/console-${name}.png`)).size > 10_000, `screenshot of ${name}`)
  t.same(watch.elsewhere, [], 'every request stayed on creditgate')
  // Chromium logs every 404 as a failed load. Before the merge the routes of issue 12 answer 404
  // (the console says "not available"); after it, GET /rules/shadow may when no shadow set is loaded.
  // check which of these still answer 404 once issue 12 is in.
  const expected404 = HISTORY_MERGED ? ['/rules/shadow'] : ['/decisions', '/rules/backtest', '/rules/shadow']
  const problems = watch.problems.filter((p) => !expected404.some((path) => p.includes('status of 404') && p.endsWith(` ${path}`)))
  t.same(problems, [], 'no console error')
})

t.test('console in Chromium: a malformed address never throws, and a name with a right-to-left override stays in its place', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed`)
  if (!existsSync(CHROMIUM)) return
  const sandbox = await startSandbox(t)
  // U+202E (right-to-left override) in a name and a custom field, as anyone with access to Zoho can type it.
  const rogue = 'Rogue \u202Edetimil'
  sandbox.organizations
    .get(ORG)
    ?.set(
      '460000000099003',
      zohoContact('460000000099003', rogue, { custom_fields: [{ api_name: 'cf_note', label: 'Note', value: '\u202Eevah' }] }),
    )
  const { app } = await startApp(t, sandbox, { env: { ADMIN_API_KEYS: `ops:${ADMIN_KEY}` } })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.addInitScript((key) => sessionStorage.setItem('creditgate.console.key', key), ADMIN_KEY)

  await page.goto(`${base}/console#customer/460000000026049`)
  await page.locator('#decision-title .badge.block').waitFor()
  for (const [hash, says] of [
    ['#customer/%E0%A4%A', /does not name a contact/],
    ['#customer/%', /does not name a contact/],
    ['#customer/0460000000031013', /without a leading zero/],
    ['#customer/460000000026049/x', /1 to 19 digits/],
  ] as const) {
    await page.evaluate((h) => {
      location.hash = h
    }, hash)
    await page.locator('#customer-out .error', { hasText: says }).waitFor()
    t.equal(await page.locator('#decision-title').count(), 0, `${hash}: the customer shown before is gone`)
  }
  t.same(errors, [], 'no error thrown by the page')
  t.notOk(sandbox.stats.byContact.has('0460000000031013'), 'a padded id never reaches Zoho')

  await page.evaluate(() => {
    location.hash = '#customer/460000000099003'
  })
  await page.locator('#decision-title .badge').waitFor()
  // Where the id's first and last digits are drawn: left to right, whatever the name holds.
  const [first, last] = await page.evaluate(() => {
    const title = document.querySelector('#decision-title') as HTMLElement
    const walker = document.createTreeWalker(title, NodeFilter.SHOW_TEXT)
    let node = walker.nextNode()
    while (node && !node.textContent?.includes('(460000000099003)')) node = walker.nextNode()
    const text = node?.textContent ?? ''
    const at = (i: number) => {
      const range = document.createRange()
      range.setStart(node as Node, i)
      range.setEnd(node as Node, i + 1)
      return range.getBoundingClientRect().left
    }
    const start = text.indexOf('460000000099003')
    return [at(start), at(start + 14)]
  })
  t.ok((first ?? 0) < (last ?? 0), `the id reads left to right (${first} < ${last})`)
  t.equal(await page.locator('#decision-title bdi').textContent(), rogue, 'the name, isolated')
  t.equal(await page.locator('#decision-title bdi').evaluate((el) => getComputedStyle(el).unicodeBidi), 'isolate')
  const cell = page.locator('#facts-table tr', { hasText: 'custom_fields.cf_note' }).locator('td bdi')
  t.equal(await cell.textContent(), '“\u202Eevah”', 'a custom field, isolated too')
  t.same(errors, [])
})
