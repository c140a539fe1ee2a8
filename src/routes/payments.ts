import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Config } from '../config.js'
import { creditDateFacts, customDate, NO_PAYMENT_FACTS } from '../domain/payments.js'
import { todayIn } from '../domain/receivables.js'
import { CALLER_SECURITY } from '../plugins/access.js'
import { usesPayments } from '../rules/rule-set.js'
import { ContactParamsSchema, problemResponses, ZohoIdSchema } from './schemas.js'

const days = z.number().nullable()

const CustomerPaymentsSchema = z
  .object({
    contact_id: z.string(),
    organization_id: z.string(),
    payments: z
      .object({
        as_of: z.string().describe('When the paid invoices were read from Zoho (ISO 8601)'),
        age_seconds: z.number().int().min(0),
        paid_invoices_12m: z.number().int().min(0),
        avg_days_to_pay_12m: days,
        avg_days_late_12m: days,
        weighted_days_late_12m: days,
        days_late_trend: days,
        months: z
          .array(
            z.object({
              month: z.string().describe('YYYY-MM'),
              invoices: z.number().int().min(0).describe('Invoices paid in full in the month'),
              avg_days_to_pay: days.describe('Their mean days from invoice date to payment; null when none'),
            }),
          )
          .describe('The 12 calendar months up to this one, oldest first, as of the pass'),
      })
      .nullable()
      .describe('null when no active or shadow rule reads payment facts: paid invoices are then not read from Zoho at all'),
    credit_review_date: z.string().nullable().describe('The contact’s review date (CREDIT_REVIEW_DATE_FIELD), YYYY-MM-DD'),
    credit_review_overdue_days: z.number().int().nullable(),
    credit_limit_until: z.string().nullable().describe('The last day of the contact’s credit limit (CREDIT_LIMIT_UNTIL_FIELD)'),
    credit_limit_expired: z.boolean(),
  })
  .meta({ id: 'CustomerPayments' })

/** How a customer paid over the last 12 months, and its review date and limit validity: what the console charts. */
export const paymentsRoutes: FastifyPluginAsyncZod<{ config: Config }> = async (app, { config }) => {
  app.get(
    '/contacts/:contact_id/payments',
    {
      config: { auth: 'readers', paramsProblem: 'invalid_contact_id' },
      schema: {
        operationId: 'getContactPayments',
        summary: 'How a customer paid over the last 12 months',
        description:
          'The payment facts of a customer (from the organization’s paid invoices, read by the background pass), its days to pay month by month, and its credit review date and limit validity from the contact’s custom fields. One Get Contact through the cache; never a listing call of its own. `payments` is null while no active or shadow rule reads payment facts.',
        tags: ['risk'],
        security: CALLER_SECURITY,
        params: ContactParamsSchema,
        querystring: z.strictObject({
          organization_id: ZohoIdSchema.optional().describe('Zoho organization; default ZOHO_ORGANIZATION_ID'),
        }),
        response: { 200: CustomerPaymentsSchema, ...problemResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (req) => {
      const org = app.zoho.organization(req.query.organization_id)
      const { contact } = await app.contacts.load(org, req.params.contact_id)
      const now = Date.now()
      const fields = config.payments.fields
      const base = {
        contact_id: req.params.contact_id,
        organization_id: org,
        credit_review_date: customDate(contact, fields.reviewDate),
        credit_limit_until: customDate(contact, fields.limitUntil),
        ...creditDateFacts(contact, todayIn(app.zoho.settings(org).timeZone, now), fields),
      }
      if (![app.rules.for(org).current(), app.shadow.ruleSet(org)].some(usesPayments)) return { ...base, payments: null }
      const { customer, asOf } = await app.payments.forCustomer(org, req.params.contact_id)
      return {
        ...base,
        payments: {
          as_of: new Date(asOf).toISOString(),
          age_seconds: Math.max(0, Math.floor((now - asOf) / 1000)),
          ...(customer?.facts ?? NO_PAYMENT_FACTS),
          months: [...(customer?.months ?? [])],
        },
      }
    },
  )
}
