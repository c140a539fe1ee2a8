// Regenerates the README's console screenshots (docs/console-*.png) from `npm start`'s setup:
// the built service on the bundled Zoho sandbox, a few decisions, then each view in Chromium.
//   npm run build && node scripts/screenshots.mjs
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { chromium } from 'playwright-core'

const ADMIN_KEY = 'ops-screenshots-0123456789abcdef'
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'

const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address()
    probe.close(() => resolve(port))
  })
})
const base = `http://127.0.0.1:${port}`
const server = spawn(process.execPath, ['dist/server.js'], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ADMIN_API_KEYS: `ops:${ADMIN_KEY}`, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
})
try {
  const deadline = Date.now() + 20_000
  while (
    !(await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error('creditgate did not become ready')
    await new Promise((r) => setTimeout(r, 100))
  }
  // A morning's orders on the sandbox's contacts.
  const orders = [
    ['460000000031001', 1200],
    ['460000000031001', 800],
    ['460000000031002', 2500],
    ['460000000026049', 1000],
    ['460000000031004', 6000],
    ['460000000031004', 1500],
    ['460000000031012', 0],
    ['460000000031013', 0],
    ['460000000031014', 300],
    ['460000000031015', 3000],
    ['460000000031016', 900],
    ['460000000031011', 400],
    ['460000000031008', 0],
  ]
  for (const [id, amount] of orders) await fetch(`${base}/contacts/${id}/risk?order_amount=${amount}`)

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${base}/console`)
    await page.locator('#login-key').fill(ADMIN_KEY)
    await page.keyboard.press('Enter')
    await page.locator('#timeline-chart canvas').waitFor()
    await page.locator('#codes-table').waitFor()
    await page.screenshot({ path: 'docs/console-overview.png' })
    await page.locator('nav a[data-view="customer"]').click()
    await page.locator('#customer-amount').fill('3000')
    await page.locator('#customer-id').fill('460000000031015')
    await page.keyboard.press('Enter')
    await page.locator('#ageing-chart canvas').waitFor()
    await page.screenshot({ path: 'docs/console-customer.png' })
    await page.locator('nav a[data-view="rules"]').click()
    await page.locator('#active-table').waitFor()
    const file = page.locator('details[data-file="outstanding-over-50000.json"]')
    await file.locator('summary').click()
    const text = file.locator('textarea')
    await text.fill((await text.inputValue()).replace('"value": 50000', '"value": 40000'))
    await page.getByRole('button', { name: 'Backtest' }).click()
    await page.locator('#backtest table, #backtest [data-missing]').first().waitFor()
    await page.locator('#backtest').scrollIntoViewIfNeeded()
    await page.screenshot({ path: 'docs/console-rules.png' })
  } finally {
    await browser.close()
  }
  process.stdout.write('wrote docs/console-overview.png, docs/console-customer.png, docs/console-rules.png\n')
} finally {
  server.kill('SIGTERM')
}
