import { type FSWatcher, watch } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { RuleSet } from '../../rules/rule-set.js'
import { type ReloadResult, type RulesManager, type RulesManagerOptions, type WatchedRules, watchRules } from './manager.js'

/** A folder of RULES_DIR (or RULES_SHADOW_DIR) holding an organization's own set: its Zoho id. */
const ORGANIZATION_FOLDER = /^\d{1,19}$/

/**
 * Why a folder replaces the shared set, never overlays it: ../../../docs/decisions/013-organizations.md
 * The rule sets of a rules folder: the shared set (the files at its top) and, for every allowed
 * organization with a folder `<organization_id>/`, that organization's own set — validated,
 * fixture-gated (its own `tests/`), versioned and reloaded on its own. A change is reloaded only
 * for the set it is in (a change at the top reloads the shared set and every organization's,
 * whose extends.json may name the file), so a broken file in one organization's folder leaves
 * every other set as it is, and is reported for that organization only.
 */
export interface FolderSets {
  readonly shared: WatchedRules
  /** The organization's own set, if RULES_DIR/<organization_id>/ exists. */
  own(org: string): WatchedRules | undefined
  /** The organizations with a folder of their own, in order. */
  organizations(): readonly string[]
  /** Reloads the organization's set (its own, or the shared one), or every set. */
  reload(trigger: string, org?: string): Promise<ReloadResult>
  close(): void
}

export interface FolderSetsOptions extends Omit<RulesManagerOptions, 'onReload'> {
  /** The organizations callers may ask about: only their folders are read. */
  organizations: readonly string[]
  /** Sets that must be valid at start (the live rules; shadow rules need not). */
  required: boolean
  onReload?: (org: string | undefined, result: ReloadResult['result']) => void
}

/** The folders named by organization ids in dir; a folder that cannot be listed has none. */
async function organizationFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  return entries
    .filter((e) => e.isDirectory() && ORGANIZATION_FOLDER.test(e.name))
    .map((e) => e.name)
    .sort()
}

export async function watchFolders(options: FolderSetsOptions): Promise<FolderSets> {
  const { dir, log, required } = options
  const allowed = new Set(options.organizations)
  const load = (org: string | undefined, mustLoad: boolean) =>
    watchRules({
      ...options,
      dir: org ? join(dir, org) : dir,
      log: org ? log.child({ organization_id: org }) : log,
      watch: false,
      required: mustLoad,
      onReload: (result) => options.onReload?.(org, result),
    })
  const shared = await load(undefined, required)
  const own = new Map<string, WatchedRules>()
  for (const org of await organizationFolders(dir)) {
    if (!allowed.has(org)) {
      log.warn({ organization_id: org }, 'a rules folder for an organization not in ZOHO_ORGANIZATION_IDS: ignored')
      continue
    }
    own.set(org, await load(org, required))
  }

  const reloadOne = async (org: string | undefined, trigger: string): Promise<ReloadResult> => {
    if (org === undefined) return shared.reload(trigger)
    let set = own.get(org)
    // A folder that appeared since start: read from now on; until it holds a valid set, the shared set decides.
    if (!set && allowed.has(org) && (await organizationFolders(dir)).includes(org)) {
      set = await load(org, false)
      own.set(org, set)
      return { result: set.current() ? 'activated' : 'rejected', version: set.current()?.version ?? 'none', fixtures: set.fixtures }
    }
    return (set ?? shared).reload(trigger)
  }

  async function reload(trigger: string, org?: string): Promise<ReloadResult> {
    if (org !== undefined) return reloadOne(org, trigger)
    const result = await shared.reload(trigger)
    for (const found of new Set([...own.keys(), ...(await organizationFolders(dir))])) {
      if (allowed.has(found)) await reloadOne(found, trigger)
    }
    return result
  }

  // One watcher for the whole folder; changes are gathered (editors write in several steps) and
  // each set touched is reloaded once.
  const touched = new Set<string | undefined>()
  let timer: NodeJS.Timeout | undefined
  const flush = async () => {
    const sets = [...touched]
    touched.clear()
    if (sets.includes(undefined)) {
      await reload('file change')
      return
    }
    for (const org of sets) await reloadOne(org, `file change in ${org}/`)
  }
  let watcher: FSWatcher | undefined
  if (options.watch !== false) {
    try {
      watcher = watch(dir, { recursive: true }, (_event, file) => {
        const head = file?.split(/[\\/]/)[0] ?? ''
        touched.add(ORGANIZATION_FOLDER.test(head) ? head : undefined)
        clearTimeout(timer)
        timer = setTimeout(() => void flush(), options.debounceMs ?? 250)
      })
      watcher.on('error', (err) => log.error({ err }, 'watching the rules folder failed; use SIGHUP or POST /rules/reload'))
    } catch (err) {
      log.error({ err }, 'cannot watch the rules folder; use SIGHUP or POST /rules/reload')
    }
  }
  return {
    shared,
    own: (org) => own.get(org),
    organizations: () => [...own.keys()].sort(),
    reload,
    close() {
      clearTimeout(timer)
      watcher?.close()
      shared.close()
      for (const set of own.values()) set.close()
    },
  }
}

/**
 * The live rules: RulesManager for the shared set (what callers that do not name an
 * organization see), and the set that decides for each organization.
 */
export interface OrganizationRules extends RulesManager {
  /**
   * The set that decides for the organization: its own (RULES_DIR/<organization_id>/) when it has
   * one, else the shared set — never another organization's.
   */
  for(org: string): RulesManager
  /** The organizations with a set of their own. */
  organizations(): readonly string[]
  /** Every active set: the shared one and each organization's. */
  all(): readonly RuleSet[]
  /** Reloads the organization's set, or every set (the shared set's result). */
  reload(trigger: string, org?: string): Promise<ReloadResult>
}

/** The set for one organization, as a RulesManager: its own until it has none loaded, then the shared set. */
function viewOf(set: WatchedRules, shared: RulesManager, reload: (trigger: string) => Promise<ReloadResult>): RulesManager {
  return {
    current: () => set.current() ?? shared.current(),
    get lastError() {
      return set.lastError
    },
    get fixtures() {
      return set.fixtures
    },
    reload,
    check: set.check,
    close: () => {},
  }
}

export function organizationRules(sets: FolderSets): OrganizationRules {
  const shared = sets.shared as RulesManager
  return {
    current: () => shared.current(),
    get lastError() {
      return shared.lastError
    },
    get fixtures() {
      return shared.fixtures
    },
    check: shared.check,
    for(org) {
      const set = sets.own(org)
      return set ? viewOf(set, shared, (trigger) => sets.reload(trigger, org)) : shared
    },
    organizations: sets.organizations,
    all: () => [shared.current(), ...sets.organizations().flatMap((org) => sets.own(org)?.current() ?? [])],
    reload: sets.reload,
    close: sets.close,
  }
}

/** Rules that never change (tests hand a set in): the same set for every organization. */
export function fixedOrganizationRules(rules: RulesManager): OrganizationRules {
  return { ...rules, for: () => rules, organizations: () => [], all: () => [rules.current()], reload: (trigger) => rules.reload(trigger) }
}
