import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
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

/**
 * A POST from the signed-in page with the session's CSRF token, as a script in the page could send
 * it whatever the page offers: its status and problem.
 */
export async function postFromPage(page: Page, path: string, body: unknown) {
  return page.evaluate(
    async ({ path, body }) => {
      const me = await (await fetch('/auth/me')).json()
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
        body: JSON.stringify(body),
      })
      const problem = await res.json()
      return { status: res.status, code: problem.code as string, detail: problem.detail as string }
    },
    { path, body },
  )
}
