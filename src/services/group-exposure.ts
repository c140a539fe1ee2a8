import type { FastifyBaseLogger } from 'fastify'
import type { ZohoContact } from '../domain/contact.js'
import { balancesByLink, convert, type Group, type ListedContact, linkValue } from '../domain/group.js'
import { Problem } from '../errors.js'
import { exactSum } from '../lib/decimal.js'
import { createKeeper, type SnapshotStore } from './snapshots.js'

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
export type GroupStore = SnapshotStore<GroupBalances>

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
  /** The organizations kept, each with its group. */
  const kept = new Map<string, Group>()
  const keeper = createKeeper<GroupBalances>({
    store: options.store,
    log: options.log,
    what: 'group balances',
    kept: (org) => kept.has(org),
    now,
  })
  const groupOf = (org: string) => options.groups.find((g) => g.organizations.includes(org))
  const refreshMs = (org: string) => (kept.get(org)?.refresh_seconds ?? options.refreshSeconds) * 1000
  const due = (org: string) => now() - (keeper.copies.get(org)?.as_of ?? Number.NEGATIVE_INFINITY) >= refreshMs(org)

  async function list(org: string, group: Group): Promise<void> {
    try {
      if (!due(org)) return
      const startedAt = now()
      const contacts = await keeper.pages((page) => options.source.contactsPage(org, page, { background: true }), 'contacts')
      const balances = balancesByLink(contacts, group.link)
      if (typeof balances === 'string') throw new Problem('upstream_error', balances)
      const listed = { as_of: startedAt, balances }
      keeper.copies.set(org, listed)
      await options.store.replace(org, listed)
      options.onRefresh?.('ok')
      options.log.info({ org, group: group.id, contacts: contacts.length, linked: balances.size }, 'group balances refreshed')
    } catch (err) {
      options.onRefresh?.('failed')
      options.log.warn({ org, err: { message: (err as Error).message } }, 'group balances refresh failed; the last complete listing stays')
    }
  }

  /** An organization's balances for a decision: waits a little for a first listing; none, or too old, is unavailable. */
  const balancesOf = (org: string, group: Group): Promise<GroupBalances> => {
    if (!kept.has(org)) {
      kept.set(org, group)
      void keeper.once(org, () => list(org, group))
    }
    return keeper.usable(
      org,
      options.firstWaitMs,
      options.staleSeconds,
      'RECEIVABLES_STALE_SECONDS',
      `organization ${org} (group ${group.id})`,
    )
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
      if (keeper.stopped || !options.inUse()) return
      await Promise.all([...kept].filter(([org]) => due(org)).map(([org, group]) => keeper.once(org, () => list(org, group))))
    },
    ages: () => keeper.ages(kept.keys()),
    stop: () => keeper.stop(),
  }
}
