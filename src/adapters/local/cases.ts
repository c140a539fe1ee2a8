import type { Case } from '../../domain/case.js'
import type { CaseStore } from '../../services/cases.js'

/** Cases in this process: the store without Redis, and where cases go while Redis is down. */
export function createLocalCases(): CaseStore {
  const orgs = new Map<string, Map<string, Case>>()
  const cases = (org: string) => {
    let found = orgs.get(org)
    if (!found) {
      found = new Map()
      orgs.set(org, found)
    }
    return found
  }
  return {
    get: async (org, caseId) => cases(org).get(caseId),
    async put(next, seen) {
      const stored = cases(next.organization_id)
      if ((stored.get(next.case_id)?.revision ?? 0) !== seen) return false
      stored.set(next.case_id, next)
      return true
    },
    list: async (org) => [...cases(org).values()],
  }
}
