import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Test } from 'tap'
import { startApp, startSandbox, type TestApp } from './app.js'

/** An admin key and a caller key, and the environment that sets them. */
export const ADMIN = { 'x-api-key': 'ops-key-0123456789abcdef' }
export const CALLER = { 'x-api-key': 'shop-key-0123456789abcdef' }
export const KEYS = { API_KEYS: 'shop:shop-key-0123456789abcdef', ADMIN_API_KEYS: 'ops:ops-key-0123456789abcdef' }

/** A copy of the shipped rules (without fixtures unless asked) that a test may edit. */
export async function rulesCopy(t: Test, withFixtures = false): Promise<string> {
  const dir = t.testdir({})
  await cp('rules', dir, { recursive: true })
  if (!withFixtures) await rm(join(dir, 'tests'), { recursive: true })
  return dir
}

/** The app on the rules folder `dir`, with KEYS; `status` is what GET /rules says. */
export async function rulesApp(t: Test, dir: string, env: Record<string, string> = {}) {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { RULES_DIR: dir, ...KEYS, ...env } })
  const status = async () => (await app.inject({ url: '/rules', headers: CALLER })).json()
  return { app, sandbox, status }
}

/** Reloads and returns the rejection's errors. */
export async function rejected(t: Test, app: TestApp['app']) {
  const reload = await app.rules.reload('test')
  t.equal(reload.result, 'rejected', 'the change is refused; the last good set stays')
  return reload.errors ?? []
}
