import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { z } from 'zod'
import { parseJson, type RuleError, type RuleSource } from '../../rules/rule-set.js'

/** Where fixture files live, inside the rules folder. */
export const FIXTURE_DIR = 'tests'
export const RULE_FILE = /^[^.].*\.json$/
/** Files in the rules folder that are not rules. */
export const NOT_RULES = new Set(['rule.schema.json', 'fixture.schema.json', 'extends.json'])
/**
 * An organization's folder (RULES_DIR/<organization_id>/) may include files of the shared set by
 * name, listed in its extends.json: nothing of the shared set is in it otherwise.
 */
export const EXTENDS_FILE = 'extends.json'
const ExtendsSchema = z.strictObject({
  $comment: z.string().optional(),
  extends: z
    .array(z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}\.json$/, 'a file name of the shared set such as "inactive-contact.json"'))
    .max(500),
})
/** The largest rule file read; a fixture file may be larger. */
export const MAX_RULE_FILE_BYTES = 64 * 1024
export const MAX_FIXTURE_FILE_BYTES = 1024 * 1024

export interface FolderRead {
  readonly rules: RuleSource[]
  readonly fixtures: RuleSource[]
  /** Files that could not or may not be read: the set is then refused with these. */
  readonly errors: RuleError[]
}

/**
 * Reads the rules folder and its tests/ subfolder as data from a person: only *.json files, each
 * within its size limit (checked before reading); a symbolic link only when it resolves inside the
 * folder (Kubernetes ConfigMaps mount files as links into a subfolder); errors name files by their
 * path in the folder and never quote what a file holds.
 */
export async function readRulesFolder(dir: string): Promise<FolderRead> {
  const errors: RuleError[] = []
  let root: string
  try {
    root = await realpath(dir)
  } catch {
    return { rules: [], fixtures: [], errors: [{ file: '(rules folder)', path: '$', message: 'the rules folder cannot be read' }] }
  }
  const read = async (subdir: string, maxBytes: number, keep: (name: string) => boolean): Promise<RuleSource[]> => {
    const entries = await readdir(join(root, subdir)).catch(() => undefined)
    if (!entries) return []
    const sources: RuleSource[] = []
    for (const name of entries.filter((n) => RULE_FILE.test(n) && keep(n)).sort()) {
      const file = subdir ? `${subdir}/${name}` : name
      const path = join(root, subdir, name)
      try {
        const problem = await fileProblem(root, path, maxBytes)
        if (problem === 'skip') continue
        if (problem) errors.push({ file, path: '$', message: problem })
        else sources.push({ file, content: await readFile(path, 'utf8') })
      } catch (err) {
        // Gone between listing and reading (an editor's rename): the change that removed it reloads again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') errors.push({ file, path: '$', message: 'cannot be read' })
      }
    }
    return sources
  }
  const rules = await read('', MAX_RULE_FILE_BYTES, (name) => !NOT_RULES.has(name))
  const fixtures = await read(FIXTURE_DIR, MAX_FIXTURE_FILE_BYTES, () => true)
  const [extension] = await read('', MAX_RULE_FILE_BYTES, (name) => name === EXTENDS_FILE)
  if (extension) rules.push(...(await extended(dir, extension, new Set(rules.map((r) => r.file)), errors)))
  return { rules, fixtures, errors }
}

/**
 * The shared files an organization's extends.json names, read from the folder above (the shared
 * set) with the same checks, named `../<file>` in the set; a name missing there, or one the
 * organization's folder has a file of its own by, is an error.
 */
async function extended(dir: string, source: RuleSource, own: ReadonlySet<string>, errors: RuleError[]): Promise<RuleSource[]> {
  const json = parseJson(EXTENDS_FILE, source.content)
  const parsed = 'error' in json ? undefined : ExtendsSchema.safeParse(json.value)
  if (!parsed?.success) {
    const issue = parsed?.error.issues[0]
    const message = 'error' in json ? json.error.message : `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`
    errors.push({ file: EXTENDS_FILE, path: '$', message: `${message} (expected {"extends": ["<file of the shared set>", …]})` })
    return []
  }
  const shared = await readRulesFolder(dirname(resolve(dir)))
  const byName = new Map(shared.rules.map((r) => [r.file, r]))
  const sources: RuleSource[] = []
  for (const [i, name] of parsed.data.extends.entries()) {
    const found = byName.get(name)
    const problem = shared.errors.find((e) => e.file === name)?.message
    if (own.has(name)) errors.push({ file: EXTENDS_FILE, path: `$.extends[${i}]`, message: `${name} is also a file of this folder` })
    else if (problem) errors.push({ file: `../${name}`, path: '$', message: problem })
    else if (!found) errors.push({ file: EXTENDS_FILE, path: `$.extends[${i}]`, message: `${name} is not a rule file of the shared set` })
    else sources.push({ file: `../${name}`, content: found.content })
  }
  return sources
}
/** Why a file may not be read, 'skip' for what is not a file (a folder named x.json), or undefined. */
async function fileProblem(root: string, path: string, maxBytes: number): Promise<string | 'skip' | undefined> {
  const link = await lstat(path)
  if (link.isSymbolicLink()) {
    const target = await realpath(path).catch(() => undefined)
    if (!target) return 'is a link to a file that does not exist'
    const inside = relative(root, target)
    if (inside.startsWith('..') || isAbsolute(inside)) return 'is a link to a file outside the rules folder: refused'
  }
  const info = await stat(path)
  if (!info.isFile()) return 'skip'
  if (info.size > maxBytes) return `is ${Math.ceil(info.size / 1024)} KB; at most ${maxBytes / 1024} KB`
  return undefined
}
