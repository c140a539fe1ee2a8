import { DECISION_EXAMPLES, decision, facts, RELEASED_EXAMPLE } from './decisions.js'
import { type Example, ex } from './example.js'

const LIMITED = { contact_id: '460000000031005', contact_name: 'Harbor Supplies', outstanding_bcy: 30000, credit_limit: 40000 }

/** Orders with a reference: what an allowed one holds, and the next one blocked by what is held. */
const RESERVATION_EXAMPLES: Record<string, Example> = {
  reserved: {
    summary: 'allow: the order holds 8,000.00 until Zoho lists it',
    value: decision({
      contact_id: LIMITED.contact_id,
      facts: facts({ ...LIMITED, order_amount: 8000, exposure_bcy: 38000, available_credit_bcy: 10000, exposure_with_orders_bcy: 38000 }),
      reservation: { reference: 'SO-2026-0042', amount: 8000, expires_at: '2026-11-25T10:00:42.120Z', mode: 'shared' },
    }),
  },
  held: {
    summary: 'block: a second order a second later, over the limit with the first one reserved',
    value: decision({
      decision: 'block',
      contact_id: LIMITED.contact_id,
      reasons: [
        {
          rule: 'credit-limit-exceeded',
          code: 'CREDIT_LIMIT_EXCEEDED',
          severity: 'block',
          message:
            'Exposure 46,000.00 (outstanding 30,000.00 + open orders 0.00 + reserved 8,000.00 + order 8,000.00) exceeds the credit limit of 40,000.00',
        },
      ],
      facts: facts({
        ...LIMITED,
        order_amount: 8000,
        exposure_bcy: 38000,
        available_credit_bcy: 10000,
        reserved_bcy: 8000,
        exposure_with_orders_bcy: 46000,
      }),
    }),
  },
}

/** Examples by operationId and status: orders with a reference, and what they hold. */
export const RESERVATION_OPERATIONS: Record<string, Record<string, Record<string, Example>>> = {
  postContactRisk: { '200': { ...DECISION_EXAMPLES, ...RESERVATION_EXAMPLES, released: RELEASED_EXAMPLE } },
  cancelReservation: {
    '200': {
      cancelled: ex('the order was dropped: its 8,000.00 no longer counts', {
        cancelled: { reference: 'SO-2026-0042', contact_id: LIMITED.contact_id, organization_id: '10234695', amount: 8000 },
      }),
    },
  },
  getContactReservations: {
    '200': {
      held: ex('one live reservation, one Zoho lists now', {
        contact_id: LIMITED.contact_id,
        organization_id: '10234695',
        reserved_bcy: 8000,
        reservations: [
          {
            reference: 'SO-2026-0041',
            amount: 2000,
            caller: 'shop',
            created_at: '2026-11-24T09:12:00.000Z',
            expires_at: '2026-11-25T09:12:00.000Z',
            state: 'matched',
          },
          {
            reference: 'SO-2026-0042',
            amount: 8000,
            caller: 'shop',
            created_at: '2026-11-24T10:00:42.120Z',
            expires_at: '2026-11-25T10:00:42.120Z',
            state: 'live',
          },
        ],
        mode: 'shared',
      }),
    },
  },
}

export const RESERVATION_REQUESTS: Record<string, Record<string, Record<string, Example>>> = {
  postContactRisk: {
    'application/json': {
      order: ex('an order of 6,000.00 with your reference', { order: { amount: 6000, currency: 'INR', reference: 'SO-1001' } }),
      explain: ex('no order, with a trace of every rule', { explain: true }),
      organization: ex('a contact of another allowed organization', { organization_id: '10234696', order: { amount: 1500 } }),
    },
  },
}
