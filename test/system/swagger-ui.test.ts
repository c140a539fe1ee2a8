import { existsSync } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { chromium } from 'playwright-core'
import t from 'tap'
import { startApp, startSandbox } from '../helpers/app.js'

/**
 * Swagger UI as a developer meets it, in headless Chromium (Debian's package, driven by
 * playwright-core): authorize with a key, open the risk operation, try it out for a sandbox
 * contact, execute, read the decision. Every asset comes from creditgate itself.
 */
const CHROMIUM = '/usr/bin/chromium'
const KEY = 'shop-key-0123456789abcdef'
const SCREENSHOT = 'test-artifacts/swagger-ui.png'

t.test('Swagger UI: authorize, try the risk operation for a sandbox contact, see the decision', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (.ci/run installs Debian's chromium)`)
  if (!existsSync(CHROMIUM)) return
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { API_KEYS: `shop:${KEY}` } })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const elsewhere: string[] = []
  const problems: string[] = []
  page.on('request', (req) => {
    if (!req.url().startsWith(base) && !req.url().startsWith('data:')) elsewhere.push(req.url())
  })
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text())
  })
  page.on('pageerror', (err) => problems.push(err.message))

  await page.goto(`${base}/docs`)
  const operation = page.locator('#operations-risk-getContactRisk')
  await operation.waitFor()

  await page.getByRole('button', { name: 'Authorize' }).first().click()
  // Two bearer schemes (API keys and, with OIDC_ISSUER, JWTs): the key goes into bearerAuth's.
  const bearer = page.locator('.auth-container').filter({ hasText: 'bearerAuth' })
  await bearer.locator('#auth-bearer-value').fill(KEY)
  await bearer.getByRole('button', { name: 'Apply credentials' }).click()
  await bearer.getByRole('heading', { name: 'Authorized' }).waitFor()
  await page.locator('.modal-ux .close-modal').click()

  await operation.locator('.opblock-summary').click()
  await operation.getByRole('button', { name: 'Try it out' }).click()
  await operation.locator('input[placeholder="contact_id"]').fill('460000000026049')
  await operation.locator('input[placeholder="order_amount"]').fill('1000')
  await operation.getByRole('button', { name: 'Execute' }).click()

  const status = operation.locator('.live-responses-table .response .response-col_status')
  await status.waitFor()
  t.equal((await status.textContent())?.trim(), '200')
  const body = JSON.parse((await operation.locator('.live-responses-table .response-col_description pre').first().textContent()) ?? '{}')
  t.match(body, {
    decision: 'block',
    contact_id: '460000000026049',
    facts: { order_amount: 1000, exposure_bcy: 63400 },
  })
  t.same(
    body.reasons?.map((r: { code: string; message: string }) => [r.code, r.message]),
    [['OUTSTANDING_OVER_LIMIT', 'Outstanding receivables 62,400.00 exceed 50,000.00']],
  )
  t.same(
    body.alerts?.map((a: { code: string }) => a.code),
    ['APPLY_CREDITS_FIRST'],
  )
  t.match(await operation.locator('.curl-command, .request-url').first().textContent(), /contacts\/460000000026049\/risk/)

  await mkdir('test-artifacts', { recursive: true })
  await operation.locator('.live-responses-table').scrollIntoViewIfNeeded()
  await page.screenshot({ path: SCREENSHOT })
  t.ok((await stat(SCREENSHOT)).size > 10_000, `screenshot saved to ${SCREENSHOT}`)
  t.same(elsewhere, [], 'every asset and request stayed on creditgate: no CDN')
  t.same(problems, [], 'no console error (no content security policy violation)')
})
