import type { FastifyBaseLogger } from 'fastify'
import { BudgetRefused } from '../adapters/zoho/ports.js'
import { Problem } from '../errors.js'

/**
 * What the background keepers of per-organization snapshots share — the payment facts
 * (payments.ts) and the group balances (group-exposure.ts): a store, this process's copies, one
 * pass per organization at a time, paging that waits for room in the budget, and a decision's wait
 * for a first snapshot.
 */

/** Where snapshots are kept: in this process, or in Redis for every instance. */
export interface SnapshotStore<T> {
  read(org: string): Promise<T | undefined>
  /** Replaces the organization's snapshot as a whole, at once. */
  replace(org: string, snapshot: T): Promise<void>
  /** One pass of an organization at a time across instances: the release, or undefined when another holds it. */
  lock(org: string): Promise<(() => Promise<void>) | undefined>
  /** Another instance stored a new snapshot of the organization. */
  onChange(listener: (org: string) => void): void
}

/** Pages a pass reads at most (200 × 200 = 40,000 documents or contacts), as every listing of the Zoho client. */
export const MAX_PAGES = 200

export interface KeeperOptions<T> {
  store: SnapshotStore<T>
  log: FastifyBaseLogger
  /** What is kept, for log lines and problems ("payment facts", "group balances"). */
  what: string
  /** Whether this process keeps the organization (a store's news of others is ignored). */
  kept: (org: string) => boolean
  now: () => number
}

export function createKeeper<T extends { readonly as_of: number }>(options: KeeperOptions<T>) {
  const { store, now } = options
  /** This process's copy of each organization's snapshot. */
  const copies = new Map<string, T>()
  const running = new Map<string, Promise<void>>()
  /** Organizations another instance was passing over when this one tried. */
  const elsewhere = new Set<string>()
  /** Wakes the passes waiting for room in the budget (stop() wakes them to end). */
  const sleepers = new Set<() => void>()
  let stopped = false
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        sleepers.delete(wake)
        resolve()
      }
      // A pass waiting for room never keeps the process alive by itself.
      const timer = setTimeout(wake, ms).unref()
      sleepers.add(wake)
    })
  const load = async (org: string) => {
    const stored = await store.read(org)
    const mine = copies.get(org)
    if (stored && (!mine || stored.as_of >= mine.as_of)) copies.set(org, stored)
  }
  store.onChange((org) => {
    if (options.kept(org)) void load(org).catch((err) => options.log.warn({ err, org }, `reading the ${options.what} failed`))
  })
  return {
    copies,
    load,
    get stopped() {
      return stopped
    },
    /**
     * Every page of a listing, in order. A page the budget refuses (a background call finds the
     * minute spent down to the reserve) waits for room and is asked again: a pass longer than a
     * minute's budget spreads over several minutes instead of failing and starting over.
     */
    async pages<I>(page: (n: number) => Promise<{ items: I[]; more: boolean }>, noun: string): Promise<I[]> {
      const items: I[] = []
      for (let n = 1; n <= MAX_PAGES; ) {
        try {
          const found = await page(n)
          items.push(...found.items)
          if (!found.more) return items
          n++
        } catch (err) {
          if (!(err instanceof BudgetRefused)) throw err
          await sleep(err.verdict.retryAfterMs)
          if (stopped) throw err
        }
      }
      throw new Problem('upstream_error', `Zoho listed more than ${MAX_PAGES * 200} ${noun}; creditgate stops there`)
    },
    /**
     * One pass of an organization at a time, here (this process) and across instances (the store's
     * lock); `work` runs under the lock after the stored snapshot is loaded (another instance may
     * have passed a moment ago).
     */
    once(org: string, work: () => Promise<void>): Promise<void> {
      let pass = running.get(org)
      if (!pass) {
        pass = (async () => {
          const release = await store.lock(org)
          if (!release) {
            elsewhere.add(org)
            return
          }
          elsewhere.delete(org)
          try {
            await load(org).catch(() => {})
            await work()
          } finally {
            await release()
          }
        })().finally(() => running.delete(org))
        running.set(org, pass)
      }
      return pass
    },
    /** The snapshot for a decision: waits up to firstWaitMs for a first pass under way; none, or older than staleSeconds, is upstream_unavailable. */
    async usable(org: string, firstWaitMs: number, staleSeconds: number, setting: string, whose: string): Promise<T> {
      const deadline = now() + firstWaitMs
      while (!copies.has(org) && now() < deadline && (running.has(org) || elsewhere.has(org))) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        await load(org).catch(() => {})
      }
      const copy = copies.get(org)
      const unavailable = (detail: string) => new Problem('upstream_unavailable', detail, { retryAfterSeconds: 30 })
      if (!copy) throw unavailable(`no ${options.what} of ${whose} have been read from Zoho yet`)
      const ageSeconds = Math.floor((now() - copy.as_of) / 1000)
      if (ageSeconds > staleSeconds) throw unavailable(`the ${options.what} of ${whose} are ${ageSeconds} s old, more than ${setting}`)
      return copy
    },
    /** The age of each organization's snapshot in seconds (null while there is none). */
    ages(orgs: Iterable<string>): Record<string, number | null> {
      const out: Record<string, number | null> = {}
      for (const org of orgs) {
        const copy = copies.get(org)
        out[org] = copy ? Math.floor((now() - copy.as_of) / 1000) : null
      }
      return out
    },
    stop() {
      stopped = true
      for (const wake of sleepers) wake()
    },
  }
}
