import { type Example, ex } from './example.js'

/** Examples by operationId and status: what creditgate reads from Zoho (receivables, payments) and its call budget. */
export const ZOHO_DATA_OPERATIONS: Record<string, Record<string, Record<string, Example>>> = {
  getContactReceivables: {
    '200': {
      overdue: ex('a customer with an invoice 120 days past due', {
        contact_id: '460000000031013',
        organization_id: '10234695',
        receivables: {
          as_of: '2026-11-24T09:55:00.000Z',
          age_seconds: 342,
          ageing: { not_due: 0, days_1_30: 15000, days_31_60: 0, days_61_90: 0, over_90: 9000 },
          open_invoices: 2,
          open_orders_bcy: 0,
        },
      }),
      not_used: ex('no active rule reads receivables facts: nothing is read from Zoho', {
        contact_id: '460000000031013',
        organization_id: '10234695',
        receivables: null,
      }),
    },
  },
  listReceivables: {
    '200': {
      portfolio: ex('the largest exposures first', {
        organization_id: '10234695',
        as_of: '2026-11-24T09:55:00.000Z',
        age_seconds: 342,
        total: 9,
        offset: 0,
        next_offset: 2,
        customers: [
          {
            contact_id: '460000000026049',
            contact_name: 'Acme Retail Pvt Ltd',
            open_invoices: 3,
            open_invoices_bcy: 62400,
            open_orders_bcy: 0,
            exposure_bcy: 62400,
            overdue_bcy: 12400,
            overdue_invoices: 1,
            oldest_overdue_days: 12,
          },
          {
            contact_id: '460000000031015',
            contact_name: null,
            open_invoices: 1,
            open_invoices_bcy: 30000,
            open_orders_bcy: 8000,
            exposure_bcy: 38000,
            overdue_bcy: 0,
            overdue_invoices: 0,
            oldest_overdue_days: 0,
          },
        ],
      }),
      not_used: ex('no active rule reads receivables facts: nothing is read from Zoho', {
        organization_id: '10234695',
        as_of: null,
        age_seconds: null,
        total: 0,
        offset: 0,
        next_offset: null,
        customers: [],
      }),
    },
  },
  getContactPayments: {
    '200': {
      late: ex('a customer who pays about 40 days late, its review overdue', {
        contact_id: '460000000031018',
        organization_id: '10234695',
        payments: {
          as_of: '2026-11-24T02:00:00.000Z',
          age_seconds: 28842,
          paid_invoices_12m: 12,
          avg_days_to_pay_12m: 70,
          avg_days_late_12m: 40,
          weighted_days_late_12m: 40.4,
          days_late_trend: 0.3,
          months: [
            { month: '2025-12', invoices: 1, avg_days_to_pay: 69 },
            { month: '2026-01', invoices: 0, avg_days_to_pay: null },
            { month: '2026-11', invoices: 1, avg_days_to_pay: 71 },
          ],
        },
        credit_review_date: '2026-10-31',
        credit_review_overdue_days: 24,
        credit_limit_until: null,
        credit_limit_expired: false,
      }),
      not_used: ex('no active or shadow rule reads payment facts: no paid invoice is read from Zoho', {
        contact_id: '460000000031018',
        organization_id: '10234695',
        payments: null,
        credit_review_date: null,
        credit_review_overdue_days: null,
        credit_limit_until: '2026-12-31',
        credit_limit_expired: false,
      }),
    },
  },
  getZohoBudget: {
    '200': {
      budget: ex('two organizations', {
        organizations: [
          { organization_id: '10234695', calls_last_minute: 12, requests_per_minute: 90, max_concurrency: 8 },
          { organization_id: '10234696', calls_last_minute: 0, requests_per_minute: 90, max_concurrency: 8 },
        ],
      }),
    },
  },
}
