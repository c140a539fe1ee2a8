import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { ConfigError } from '../../src/config.js'

/** An ORGANIZATIONS_FILE holding `value`, in a folder of its own (t.testdir is the rules folder's), removed when the test ends. */
export async function organizationsFile(t: Test, value: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'creditgate-organizations-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'organizations.json')
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`)
  return file
}

/** `load` stops start-up with a ConfigError of one line matching `message`. */
export function throwsOneLine(t: Test, load: () => unknown, message: RegExp): void {
  t.throws(load, ConfigError)
  try {
    load()
  } catch (err) {
    t.match((err as Error).message, message)
    t.notMatch((err as Error).message, /\n/, 'one line')
  }
}
