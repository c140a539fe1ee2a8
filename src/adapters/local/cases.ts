import { type Case, caseIndexKey, indexStart } from '../../domain/case.js'
import type { CaseStore } from '../../services/case-list.js'

/** Cases kept per organization in this process: the in-process decision ring's default, ten times the 10,000-case worklist of decision 012. */
export const CASES_PER_ORGANIZATION = 100_000

/**
 * Cases in this process: the store without Redis, and where cases go while Redis is down.
 *
 * Redis keeps every case (no TTL: a rejected order must stay rejected when it is asked again), so
 * no age drops a case here either; a count does. When an organization has `max` cases, a new one
 * takes the place of the first stored closed case (released, rejected, expired or cleared). Asked
 * again, that order opens a new case: held for a person, never let through. When all `max` are
 * open, a new case is refused with an error, not made room for: dropping an open case would lose
 * an order a person must decide. The service answers the decision as the rules made it (held, no
 * case) and logs the error at warn, as for any failing store.
 */
export function createLocalCases(max = CASES_PER_ORGANIZATION): CaseStore {
  const orgs = new Map<string, Map<string, Case>>()
  const cases = (org: string) => {
    let found = orgs.get(org)
    if (!found) {
      found = new Map()
      orgs.set(org, found)
    }
    return found
  }
  /** Room for one more case: the first stored closed case goes (a Map keeps the order cases were first stored). */
  const makeRoom = (org: string, stored: Map<string, Case>) => {
    for (const [id, c] of stored) {
      if (c.state !== 'open') {
        stored.delete(id)
        return
      }
    }
    throw new Error(`organization ${org} has ${max} open cases in this process: no room for another until one is closed`)
  }
  return {
    get: async (org, caseId) => cases(org).get(caseId),
    async put(next, seen) {
      const stored = cases(next.organization_id)
      const current = stored.get(next.case_id)
      if ((current?.revision ?? 0) !== seen) return false
      if (!current && stored.size >= max) makeRoom(next.organization_id, stored)
      stored.set(next.case_id, next)
      return true
    },
    async page(org, { state, after, sinceMs, count }) {
      const from = after ?? indexStart(sinceMs)
      return [...cases(org).values()]
        .filter((c) => state === undefined || c.state === state)
        .map((c) => ({ key: caseIndexKey(c), case: c }))
        .filter(({ key }) => (after === undefined ? from === '-' || key >= from.slice(1) : key > from))
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .slice(0, count)
    },
  }
}
