import { type FSWatcher, watch } from 'node:fs'
import type { FastifyBaseLogger } from 'fastify'
import { z } from 'zod'
import { type RuleError, RuleErrorSchema, type RuleSet, type RuleSource } from '../../rules/rule-set.js'
import { type FixtureReport, FixtureReportSchema, type Prepared, prepareRuleSetFrom } from './fixtures.js'
import type { RuleValidator } from './validator.js'

export const ReloadFailureSchema = z
  .object({ at: z.string(), trigger: z.string(), errors: z.array(RuleErrorSchema) })
  .meta({ id: 'ReloadFailure' })

export type ReloadFailure = z.output<typeof ReloadFailureSchema>

export const ReloadResultSchema = z
  .object({
    result: z.enum(['activated', 'unchanged', 'rejected']),
    version: z.string().describe('The version active after the reload'),
    errors: z.array(RuleErrorSchema).optional().describe('Why the set was rejected'),
    fixtures: FixtureReportSchema,
  })
  .meta({ id: 'RuleReload' })

export type ReloadResult = z.output<typeof ReloadResultSchema>

/**
 * The active rule set, and how it changes: a change to the folder (debounced: editors write in
 * several steps) is read as a whole set, validated, and its fixtures run; only then does it
 * replace the active set, in one assignment. Evaluations that started keep the set they read.
 * Anything wrong leaves the last good set active and is kept for GET /rules.
 */
export interface RulesManager {
  current(): RuleSet
  readonly lastError: ReloadFailure | undefined
  readonly fixtures: FixtureReport
  reload(trigger: string): Promise<ReloadResult>
  /** Checks a candidate set (validation and fixtures) the way a reload would, activating nothing. */
  check(rules: readonly RuleSource[], fixtures: readonly RuleSource[]): Promise<Prepared>
  close(): void
}

export class RulesStartupError extends Error {
  override name = 'RulesStartupError'
}

export const formatRuleErrors = (errors: readonly RuleError[]) => errors.map((e) => `  ${e.file} ${e.path}: ${e.message}`).join('\n')

export interface RulesManagerOptions {
  dir: string
  log: FastifyBaseLogger
  validator: Pick<RuleValidator, 'check'>
  watch?: boolean
  debounceMs?: number
  onReload?: (result: ReloadResult['result']) => void
}

/** The active rules: a folder whose set must be valid at start (else RulesStartupError). */
export async function createRulesManager(options: RulesManagerOptions): Promise<RulesManager> {
  const watched = await watchRules({ ...options, required: true })
  return watched as RulesManager
}

/**
 * A rules folder watched like the active one, but whose set may be missing or invalid (shadow
 * rules): `current()` is undefined until a valid set has been loaded, and `lastError` says why.
 */
export type WatchedRules = Omit<RulesManager, 'current'> & { current(): RuleSet | undefined }

export async function watchRules(options: RulesManagerOptions & { required?: boolean }): Promise<WatchedRules> {
  const { dir, log } = options
  const first = await prepareRuleSetFrom(dir, options.validator.check)
  if (!first.ok && options.required) throw new RulesStartupError(`invalid rules in ${dir}:\n${formatRuleErrors(first.errors)}`)
  let active: RuleSet | undefined = first.ok ? first.ruleSet : undefined
  let fixtures: FixtureReport = first.fixtures
  let lastError: ReloadFailure | undefined
  if (!first.ok) {
    lastError = { at: new Date().toISOString(), trigger: 'start', errors: first.errors }
    log.error({ errors: first.errors }, 'rules not loaded; they will be when the folder holds a valid set')
  }
  let running: Promise<ReloadResult> | undefined
  let again = false

  async function reloadOnce(trigger: string): Promise<ReloadResult> {
    const prepared: Prepared = await prepareRuleSetFrom(dir, options.validator.check)
    if (!prepared.ok) {
      lastError = { at: new Date().toISOString(), trigger, errors: prepared.errors }
      log.error(
        { trigger, errors: prepared.errors, activeVersion: active?.version },
        'rule change rejected; the last good rules stay active',
      )
      options.onReload?.('rejected')
      return { result: 'rejected', version: active?.version ?? 'none', errors: prepared.errors, fixtures: prepared.fixtures }
    }
    lastError = undefined
    fixtures = prepared.fixtures
    if (prepared.ruleSet.version === active?.version) {
      log.info({ trigger, version: active.version }, 'rules unchanged')
      options.onReload?.('unchanged')
      return { result: 'unchanged', version: active.version, fixtures }
    }
    const previous = active?.version
    active = prepared.ruleSet
    log.info({ trigger, previous, version: active.version, rules: active.rules.length, fixtures: fixtures.passed }, 'rules reloaded')
    options.onReload?.('activated')
    return { result: 'activated', version: active.version, fixtures }
  }

  /** One reload at a time; a change during one triggers another after it. */
  function reload(trigger: string): Promise<ReloadResult> {
    if (running) {
      again = true
      return running
    }
    running = reloadOnce(trigger).finally(() => {
      running = undefined
      if (again) {
        again = false
        void reload(`${trigger} (again)`)
      }
    })
    return running
  }

  let watcher: FSWatcher | undefined
  let timer: NodeJS.Timeout | undefined
  if (options.watch !== false) {
    try {
      watcher = watch(dir, { recursive: true }, (_event, file) => {
        clearTimeout(timer)
        timer = setTimeout(() => void reload(`file change${file ? `: ${file}` : ''}`), options.debounceMs ?? 250)
      })
      watcher.on('error', (err) => log.error({ err }, 'watching the rules folder failed; use SIGHUP or POST /rules/reload'))
    } catch (err) {
      log.error({ err }, 'cannot watch the rules folder; use SIGHUP or POST /rules/reload')
    }
  }

  return {
    current: () => active,
    get lastError() {
      return lastError
    },
    get fixtures() {
      return fixtures
    },
    reload,
    check: options.validator.check,
    close() {
      clearTimeout(timer)
      watcher?.close()
    },
  }
}
