import type { FastifyBaseLogger } from 'fastify'
import { BudgetRefused } from '../adapters/zoho/ports.js'
import type { ZohoContact } from '../domain/contact.js'
import { balancesByLink, convert, type Group, type ListedContact, linkValue } from '../domain/group.js'
import { Problem } from '../errors.js'
import { exactSum } from '../lib/decimal.js'

/** Where an organization's contacts come from (Zoho Books' List contacts, 200 a page). */
export interface GroupSource {
  /** One page (from 1) of the organization's contacts: one call against its budget. */
  contactsPage(
    org: string,
    page: number,
    listing?: { readonly background?: boolean | undefined },
  ): Promise<{ items: ListedContact[]; more: boolean }>
}

/** An organization's linked customers' outstanding receivables (its base currency) by link value, listed at `as_of` (ms). */
export interface GroupBalances {
  readonly as_of: number
  readonly balances: ReadonlyMap<string, number>
}

/** Where balances are kept: in this process, or in Redis for every instance. */
export interface GroupStore {
  read(org: string): Promise<GroupBalances | undefined>
  replace(org: string, balances: GroupBalances): Promise<void>
  /** One listing of an organization at a time across instances: the release, or undefined when another holds it. */
  lock(org: string): Promise<(() => Promise<void>) | undefined>
  /** Another instance stored new balances of the organization. */
  onChange(listener: (org: string) => void): void
}

/** What the group adds to a customer's own exposure, in the deciding organization's base currency. */
export interface GroupOthers {
  /** The linked customers' outstanding receivables in the group's other organizations, converted; 0 when unlinked. */
  readonly othersBcy: number
  /** When the oldest listing used was read (ms); null when none was needed. */
  readonly asOf: number | null
}

export interface GroupExposureService {
  /** For a decision: never made up — a listing missing or older than staleSeconds is upstream_unavailable. */
  othersFor(org: string, contact: ZohoContact): Promise<GroupOthers>
  /** Lists the organizations whose balances are due; the plugin calls it on a timer. */
  refreshDue(): Promise<void>
  /** The age of each kept organization's balances in seconds (null while there are none). */
  ages(): Record<string, number | null>
  stop(): void
}

export interface GroupExposureOptions {
  source: GroupSource
  store: GroupStore
  groups: readonly Group[]
  /** How often an organization is listed unless its group says (RECEIVABLES_REFRESH_SECONDS). */
  refreshSeconds: number
  /** Balances older than this are never used (RECEIVABLES_STALE_SECONDS). */
  staleSeconds: number
  /** How long a decision waits for a first listing being read. */
  firstWaitMs: number
  /** Whether a rule set in use reads group_exposure_bcy: listings run only then. */
  inUse: () => boolean
  log: FastifyBaseLogger
  onRefresh?: (result: 'ok' | 'failed') => void
  now?: () => number
}

/** Pages a listing reads at most (40,000 contacts), as every listing of the Zoho client. */
const MAX_PAGES = 200

/**
 * group_exposure_bcy's source: each grouped organization's contacts listed in the background,
 * every page a background call of its own budget (never the calls kept for decisions), by one
 * instance at a time and shared through the store; a decision reads the kept balances of the
 * group's other organizations and never calls Zoho for them. An organization is kept from the
 * first decision that needs it. A listing that fails keeps the last complete balances, which age.
 * Why: ../../docs/decisions/015-group-exposure.md
 */
export function createGroupExposureService(options: GroupExposureOptions): GroupExposureService {
  const now = options.now ?? Date.now
  const kept = new Map<string, Group>()
  const copies = new Map<string, GroupBalances>()
  const running = new Map<string, Promise<void>>()
  const elsewhere = new Set<string>()
  const sleepers = new Set<() => void>()
  let stopped = false
  const groupOf = (org: string) => options.groups.find((g) => g.organizations.includes(org))
  const refreshMs = (org: string) => (kept.get(org)?.refresh_seconds ?? options.refreshSeconds) * 1000
  const due = (org: string) => now() - (copies.get(org)?.as_of ?? Number.NEGATIVE_INFINITY) >= refreshMs(org)
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        sleepers.delete(wake)
        resolve()
      }
      // A listing waiting for room in the budget never keeps the process alive by itself.
      const timer = setTimeout(wake, ms).unref()
      sleepers.add(wake)
    })
  const load = async (org: string) => {
    const stored = await options.store.read(org)
    const mine = copies.get(org)
    if (stored && (!mine || stored.as_of >= mine.as_of)) copies.set(org, stored)
  }
  options.store.onChange((org) => {
    if (kept.has(org)) void load(org).catch((err) => options.log.warn({ err, org }, 'reading the group balances failed'))
  })

  /** Every page, in order; a page the budget refuses waits for room and is asked again. */
  async function listAll(org: string): Promise<ListedContact[]> {
    const contacts: ListedContact[] = []
    for (let page = 1; page <= MAX_PAGES; ) {
      try {
        const found = await options.source.contactsPage(org, page, { background: true })
        contacts.push(...found.items)
        if (!found.more) return contacts
        page++
      } catch (err) {
        if (!(err instanceof BudgetRefused) || stopped) throw err
        await sleep(err.verdict.retryAfterMs)
      }
    }
    throw new Problem('upstream_error', `Zoho listed more than ${MAX_PAGES * 200} contacts; creditgate stops there`)
  }

  async function list(org: string, group: Group): Promise<void> {
    const release = await options.store.lock(org)
    if (!release) {
      elsewhere.add(org)
      return
    }
    elsewhere.delete(org)
    try {
      // Another instance may have listed it a moment ago.
      await load(org).catch(() => {})
      if (!due(org)) return
      const startedAt = now()
      const contacts = await listAll(org)
      const balances = balancesByLink(contacts, group.link)
      if (typeof balances === 'string') throw new Problem('upstream_error', balances)
      const listed = { as_of: startedAt, balances }
      copies.set(org, listed)
      await options.store.replace(org, listed)
      options.onRefresh?.('ok')
      options.log.info({ org, group: group.id, contacts: contacts.length, linked: balances.size }, 'group balances refreshed')
    } catch (err) {
      options.onRefresh?.('failed')
      options.log.warn({ org, err: { message: (err as Error).message } }, 'group balances refresh failed; the last complete listing stays')
    } finally {
      await release()
    }
  }
  const once = (org: string, group: Group) => {
    let work = running.get(org)
    if (!work) {
      work = list(org, group).finally(() => running.delete(org))
      running.set(org, work)
    }
    return work
  }
  const unavailable = (detail: string) => new Problem('upstream_unavailable', detail, { retryAfterSeconds: 30 })

  /** An organization's balances for a decision: waits a little for a first listing; none, or too old, is unavailable. */
  async function balancesOf(org: string, group: Group): Promise<GroupBalances> {
    if (!kept.has(org)) {
      kept.set(org, group)
      void once(org, group)
    }
    const deadline = now() + options.firstWaitMs
    while (!copies.has(org) && now() < deadline && (running.has(org) || elsewhere.has(org))) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      await load(org).catch(() => {})
    }
    const copy = copies.get(org)
    if (!copy) throw unavailable(`no contacts of organization ${org} (group ${group.id}) have been listed from Zoho yet`)
    const ageSeconds = Math.floor((now() - copy.as_of) / 1000)
    if (ageSeconds > options.staleSeconds) {
      throw unavailable(
        `the contacts of organization ${org} (group ${group.id}) are ${ageSeconds} s old, more than RECEIVABLES_STALE_SECONDS`,
      )
    }
    return copy
  }

  return {
    async othersFor(org, contact) {
      const group = groupOf(org)
      const link = group && linkValue(contact, group.link)
      // Not in a group, or not linked (the link field is empty): the customer's own exposure alone.
      if (!group || link === undefined) return { othersBcy: 0, asOf: null }
      const others = group.organizations.filter((o) => o !== org)
      const read = await Promise.all(others.map((o) => balancesOf(o, group)))
      const amounts = read.map((copy, i) => convert(copy.balances.get(link) ?? 0, group, others[i] as string, org))
      return { othersBcy: exactSum(...amounts), asOf: Math.min(...read.map((copy) => copy.as_of)) }
    },
    async refreshDue() {
      if (stopped || !options.inUse()) return
      await Promise.all([...kept].filter(([org]) => due(org)).map(([org, group]) => once(org, group)))
    },
    ages() {
      const out: Record<string, number | null> = {}
      for (const org of kept.keys()) {
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
