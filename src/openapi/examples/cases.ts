import { type Example, ex } from './example.js'

export const CASE_ID = 'case_3f2a9c0d41b7e85a6c1d2e3f'
export const HELD_REASON = {
  rule: 'overdue-over-30-days',
  code: 'OVERDUE_OVER_30_DAYS',
  severity: 'review',
  message: 'The oldest unpaid invoice is 45 days past due',
}
const OPEN_CASE = {
  case_id: CASE_ID,
  state: 'open',
  organization_id: '10234695',
  contact_id: '460000000031012',
  order: { reference: 'SO-1001', amount: 8000, currency: 'INR' },
  decision_id: '019ab5a1-6c2e-7f3a-9d41-2b7c5e8f0a13',
  decision: 'review',
  reasons: [HELD_REASON],
  unreleasable: [],
  opened_at: '2026-11-24T10:00:42.120Z',
  opened_by: 'shop',
  expires_at: '2026-12-08T10:00:42.120Z',
  release: null,
  history: [
    {
      at: '2026-11-24T10:00:42.120Z',
      by: 'shop',
      event: 'opened',
      state: 'open',
      reason: 'held: OVERDUE_OVER_30_DAYS',
      decision_id: '019ab5a1-6c2e-7f3a-9d41-2b7c5e8f0a13',
    },
  ],
  revision: 1,
}
const ALICE = { sub: 'alice', name: 'Alice Approver', roles: ['approver'], via: 'oidc' }
const OPS_KEY = { sub: 'ops', name: 'ops', roles: ['admin'], via: 'key' }
export const RELEASE = {
  case_id: CASE_ID,
  by: 'Alice Approver',
  actor: ALICE,
  at: '2026-11-24T10:20:00.000Z',
  reason: 'customer paid the overdue invoice by wire',
  amount: 8000,
  valid_until: '2026-12-01T10:20:00.000Z',
}
const RELEASED_CASE = {
  ...OPEN_CASE,
  state: 'released',
  release: RELEASE,
  revision: 2,
  history: [
    ...OPEN_CASE.history,
    { at: RELEASE.at, by: 'Alice Approver', actor: ALICE, event: 'released', state: 'released', reason: RELEASE.reason },
  ],
}
const REJECTED_CASE = {
  ...OPEN_CASE,
  state: 'rejected',
  revision: 2,
  history: [
    ...OPEN_CASE.history,
    { at: '2026-11-24T10:20:00.000Z', by: 'ops', actor: OPS_KEY, event: 'rejected', state: 'rejected', reason: 'customer in dispute' },
  ],
}
const CLEARED_CASE = {
  ...OPEN_CASE,
  state: 'cleared',
  revision: 2,
  history: [
    ...OPEN_CASE.history,
    {
      at: '2026-11-24T15:02:10.400Z',
      by: 'shop',
      event: 'cleared',
      state: 'cleared',
      reason: 'the rules now allow the order: nobody needs to release it',
      decision_id: '019ab6b8-2f41-7c0e-8a5d-4e3f2a1b0c9d',
    },
  ],
}

/** Examples by operationId and status: held orders and the credit team's work on them. */
export const CASE_OPERATIONS: Record<string, Record<string, Record<string, Example>>> = {
  listCases: {
    '200': {
      worklist: ex('the open cases, oldest first', { cases: [OPEN_CASE], next_cursor: null }),
      more: ex('a full page: next_cursor continues it', { cases: [REJECTED_CASE], next_cursor: `001764064842120.${CASE_ID}` }),
    },
  },
  listAudit: {
    '200': {
      trail: ex("a customer's trail, newest first", {
        entries: [
          {
            id: '1763979600000-0',
            at: RELEASE.at,
            kind: 'case.released',
            by: 'Alice Approver',
            actor: ALICE,
            organization_id: '10234695',
            contact_id: '460000000031012',
            case_id: CASE_ID,
            reason: RELEASE.reason,
            detail: 'order SO-1001: released up to 8000 until 2026-12-01T10:20:00.000Z',
          },
          {
            id: '1763978442120-0',
            at: OPEN_CASE.opened_at,
            kind: 'case.opened',
            by: 'shop',
            organization_id: '10234695',
            contact_id: '460000000031012',
            case_id: CASE_ID,
            decision_id: OPEN_CASE.decision_id,
            reason: 'held: OVERDUE_OVER_30_DAYS',
            detail: 'order SO-1001 of 8000',
          },
        ],
        next_cursor: null,
      }),
    },
  },
  getCase: {
    '200': {
      open: ex('waiting for the credit team', { ...OPEN_CASE, callbacks: [] }),
      cleared: ex('the rules allowed the order when it was asked again (the customer paid)', { ...CLEARED_CASE, callbacks: [] }),
      released: ex('released by a person signed in through the identity provider; the callback accepted at the second attempt', {
        ...RELEASED_CASE,
        callbacks: [
          {
            event_id: 'msg_5f0c2b7e9a1d4c3b8e6f7a2d1c0b9e8f',
            type: 'case.released',
            state: 'delivered',
            attempts: 2,
            last_result: 'accepted',
            at: '2026-11-24T10:20:05.120Z',
          },
        ],
      }),
    },
  },
  releaseCase: { '200': { released: ex('released for 7 days', RELEASED_CASE) } },
  rejectCase: { '200': { rejected: ex('rejected with a reason', REJECTED_CASE) } },
}

export const CASE_REQUESTS: Record<string, Record<string, Record<string, Example>>> = {
  releaseCase: {
    'application/json': {
      reason: ex('the order as held, for RELEASE_VALID_DAYS', { reason: 'customer paid the overdue invoice by wire' }),
      limited: ex('a larger amount, until a date', {
        reason: 'agreed with the customer',
        note: 'payment plan signed',
        amount: 9000,
        valid_until: '2026-11-30T23:59:59Z',
      }),
    },
  },
  rejectCase: { 'application/json': { reason: ex('with a reason', { reason: 'customer in dispute', note: 'legal is involved' }) } },
}
