import { compareIds } from '../../domain/history.js'
import type { HistoryRange, HistoryStore, StoredEntry } from '../../services/history.js'

/**
 * The decision history in this process: a ring of the last `max` decisions per organization.
 * The store without Redis, and where decisions go while Redis is down.
 */
export function createLocalHistory(max: number): HistoryStore & { size(org: string): number } {
  const orgs = new Map<string, Ring>()
  const ring = (org: string) => {
    let found = orgs.get(org)
    if (!found) {
      found = {
        ids: [],
        decisionIds: [],
        contactIds: [],
        decisions: [],
        jsons: [],
        total: 0,
        lastMs: -1,
        lastSeq: 0,
        byDecision: new Map(),
      }
      orgs.set(org, found)
    }
    return found
  }
  return {
    async append(org, { decisionId, atMs, contactId, decision, json }) {
      const r = ring(org)
      // Positions only grow, as in a Redis stream: a decision made before the last one is placed after it.
      if (atMs > r.lastMs) {
        r.lastMs = atMs
        r.lastSeq = 0
      } else r.lastSeq++
      const slot = r.total % max
      const replaced = r.decisionIds[slot]
      if (replaced !== undefined) r.byDecision.delete(replaced)
      r.ids[slot] = `${r.lastMs}-${r.lastSeq}`
      r.decisionIds[slot] = decisionId
      r.contactIds[slot] = contactId
      r.decisions[slot] = decision
      r.jsons[slot] = Buffer.from(json)
      r.byDecision.set(decisionId, r.total)
      r.total++
    },
    async find(org, decisionId) {
      const r = orgs.get(org)
      const n = r?.byDecision.get(decisionId)
      return r && n !== undefined ? r.jsons[n % max]?.toString() : undefined
    },
    async page(org, range, count) {
      const r = orgs.get(org)
      return r ? page(r, max, range, count) : []
    },
    size: (org) => Math.min(max, orgs.get(org)?.total ?? 0),
  }
}

interface Ring {
  ids: string[]
  decisionIds: string[]
  contactIds: string[]
  decisions: string[]
  /** The records as JSON in UTF-8, as Redis would give them. */
  jsons: Buffer[]
  /** Decisions ever appended; the kept ones are numbers total − max … total − 1, in slot number % max. */
  total: number
  lastMs: number
  lastSeq: number
  byDecision: Map<string, number>
}

function page(r: Ring, max: number, range: HistoryRange, count: number): StoredEntry[] {
  const oldest = Math.max(0, r.total - max)
  const idOf = (n: number) => r.ids[n % max] as string
  const msOf = (n: number) => Number(idOf(n).split('-')[0])
  /** The newest kept number for which `fits` holds (positions grow with the number), or oldest − 1. */
  const newest = (fits: (n: number) => boolean) => {
    let lo = oldest
    let hi = r.total - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (fits(mid)) lo = mid + 1
      else hi = mid - 1
    }
    return hi
  }
  let start = r.total - 1
  const { before, untilMs, sinceMs } = range
  if (before !== undefined)
    start = Math.min(
      start,
      newest((n) => compareIds(idOf(n), before) < (range.inclusive ? 1 : 0)),
    )
  if (untilMs !== undefined)
    start = Math.min(
      start,
      newest((n) => msOf(n) <= untilMs),
    )
  const out: StoredEntry[] = []
  for (let n = start; n >= oldest && out.length < count; n--) {
    if (sinceMs !== undefined && msOf(n) < sinceMs) break
    const slot = n % max
    out.push({ id: idOf(n), json: r.jsons[slot] as Buffer, contactId: r.contactIds[slot], decision: r.decisions[slot] })
  }
  return out
}
