import { type Browser, type BrowserContext, chromium } from 'playwright-core'
import type { Idp } from './idp.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** Debian's Chromium, which the console tests drive through playwright-core. */
export const CHROMIUM = '/usr/bin/chromium'

/** A headless Chromium, closed when the test ends. */
export async function launchChromium(t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  t.teardown(() => browser.close())
  return browser
}

/** Signs in to the console through the provider's development login page (any password) and its consent page. */
export async function signInThroughProvider(context: BrowserContext, base: string, idp: Idp, login: string) {
  const page = await context.newPage()
  await page.goto(`${base}/console`)
  await page.locator('#login-oidc a').click()
  await page.waitForURL((url) => url.origin === idp.issuer)
  await page.locator('input[name=login]').fill(login)
  await page.locator('input[name=password]').fill('any password')
  await page.locator('button[type=submit]').click()
  // The consent page, the first time this person signs in to this client.
  await page.waitForURL((url) => url.origin === base || url.pathname.includes('interaction'))
  if (new URL(page.url()).origin !== base) await page.locator('button[type=submit]').click()
  await page.waitForURL(`${base}/console`)
  await page.locator('#who').filter({ hasText: /\(/ }).waitFor()
  return page
}
