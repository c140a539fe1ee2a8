import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises'
import { isAbsolute, join, relative } from 'node:path'
import type { RuleError, RuleSource } from '../../rules/rule-set.js'

/** Where fixture files live, inside the rules folder. */
export const FIXTURE_DIR = 'tests'
export const RULE_FILE = /^[^.].*\.json$/
/** Files in the rules folder that are not rules. */
export const NOT_RULES = new Set(['rule.schema.json', 'fixture.schema.json'])
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
  return { rules, fixtures, errors }
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
