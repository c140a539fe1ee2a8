import { parseContact, type ZohoContact } from '../../src/domain/contact.js'
import { Problem } from '../../src/errors.js'
import { evaluate } from '../../src/rules/reference.js'
import type { RuleSet } from '../../src/rules/rule-set.js'
import type { Evaluate } from '../../src/rules/semantics.js'
import { zohoContact } from '../../src/sandbox/example-contact.js'
import type { ContactService, LoadedContact } from '../../src/services/contacts.js'
import { createDecisionService, type DecisionServiceOptions } from '../../src/services/decisions.js'
import { ruleSetOf } from './rules.js'

/**
 * The decision service's test parts: contacts from a fake ContactService (the port), a fixed clock,
 * the compiled evaluator or json-rules-engine wrapped to count its runs.
 */
export const NOW = Date.parse('2026-11-24T10:00:00.000Z')
export const ORG = '10234695'

export const contact = (id: string, fields: Record<string, unknown> = {}): ZohoContact => {
  const parsed = parseContact(zohoContact(id, `Customer ${id}`, fields))
  if (!parsed.ok) throw new Error(parsed.problem)
  return parsed.contact
}

export const loaded = (c: ZohoContact, fetchedAtMs: number, source: LoadedContact['source'] = 'cache'): LoadedContact => ({
  contact: c,
  source,
  fetchedAt: new Date(fetchedAtMs).toISOString(),
  fetchedAtMs,
})

/** Serves the given contacts by id, as loaded at `fetchedAtMs` (now by default) from `source`. */
export function contactsOf(contacts: ZohoContact[], fetchedAtMs = NOW, source: LoadedContact['source'] = 'cache'): ContactService {
  return {
    async load(_org, contactId) {
      const found = contacts.find((c) => c.contact_id === contactId)
      if (!found) throw new Problem('contact_not_found', `contact ${contactId} does not exist`)
      return loaded(found, fetchedAtMs, source)
    },
    async invalidate() {},
    known: async () => false,
  }
}

export const failing = (problem: Problem): ContactService => ({
  load: async () => {
    throw problem
  },
  invalidate: async () => {},
  known: async () => false,
})

/** Review orders over `threshold`; block contacts whose payment terms label is "Hold" (a path into the contact). */
export const orderRules = (threshold = 1000) =>
  ruleSetOf([
    {
      name: 'big-order',
      conditions: { all: [{ fact: 'order_amount', operator: 'greaterThan', value: threshold }] },
      type: 'review',
      code: 'BIG_ORDER',
      message: 'order of {{order_amount}}',
    },
    {
      name: 'on-hold',
      conditions: { all: [{ fact: 'contact', path: '$.payment_terms_label', operator: 'equal', value: 'Hold' }] },
      type: 'block',
      code: 'ON_HOLD',
      message: 'the contact is on hold',
    },
  ])

/** The real evaluator, counting its runs. */
export function counting(inner: Evaluate = evaluate) {
  const counter = {
    runs: 0,
    evaluate: (async (ruleSet, facts, options) => {
      counter.runs++
      return inner(ruleSet, facts, options)
    }) as Evaluate,
  }
  return counter
}

export function service(options: Partial<DecisionServiceOptions> & Pick<DecisionServiceOptions, 'contacts'>) {
  const ruleSet = orderRules()
  return createDecisionService({ rules: () => ruleSet, failMode: 'closed', now: () => NOW, ...options })
}

export const without = <T extends object>(value: T, ...keys: string[]) =>
  Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)))

/** The FAIL_MODE=review answer for contact 42 (without its decision id): no facts, one reason. */
export const failModeReview = (ruleSet: RuleSet, code: string, message: string) => ({
  contact_id: '42',
  organization_id: ORG,
  rules_version: ruleSet.version,
  decision: 'review',
  reasons: [{ rule: 'fail-mode-review', code, severity: 'review', message }],
  alerts: [],
  facts: null,
  contact: null,
  receivables: null,
  payments: null,
  evaluated_at: '2026-11-24T10:00:00.000Z',
})
