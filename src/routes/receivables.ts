import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AgeingSchema, ageingBuckets, todayIn } from '../domain/receivables.js'
import { CALLER_SECURITY } from '../plugins/access.js'
import { usesReceivables } from '../rules/rule-set.js'
import { ContactParamsSchema, problemResponses, ZohoIdSchema } from './schemas.js'

const CustomerReceivablesSchema = z
  .object({
    contact_id: z.string(),
    organization_id: z.string(),
    receivables: z
      .object({
        as_of: z.string().describe('When the open invoices and sales orders were read from Zoho (ISO 8601)'),
        age_seconds: z.number().int().min(0),
        ageing: AgeingSchema,
        open_invoices: z.number().int().min(0).describe('Open invoices with a balance'),
        open_orders_bcy: z.number().describe('Open sales orders not yet invoiced, in base currency'),
      })
      .nullable()
      .describe('null when no active rule reads receivables facts: they are then not read from Zoho at all'),
  })
  .meta({ id: 'CustomerReceivables' })

const BudgetSchema = z
  .object({
    organizations: z.array(
      z.object({
        organization_id: z.string(),
        calls_last_minute: z.number().int().min(0).describe('Zoho calls in the last minute, by every instance this one knows of'),
        requests_per_minute: z
          .number()
          .int()
          .describe('The organization’s zoho_requests_per_minute (ORGANIZATIONS_FILE), else ZOHO_REQUESTS_PER_MINUTE'),
        max_concurrency: z
          .number()
          .int()
          .describe('The organization’s zoho_max_concurrency (ORGANIZATIONS_FILE), else ZOHO_MAX_CONCURRENCY'),
      }),
    ),
  })
  .meta({ id: 'ZohoBudget' })

/** What credit control looks at beside a decision: a customer's ageing, and the organization's Zoho budget. */
export const receivablesRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/contacts/:contact_id/receivables',
    {
      config: { auth: 'readers', paramsProblem: 'invalid_contact_id' },
      schema: {
        operationId: 'getContactReceivables',
        summary: 'A customer’s open receivables by age',
        description:
          'The open invoice balances of a customer by days past due (not due, 1–30, 31–60, 61–90, over 90), its open sales orders, and how old the listings are — the same snapshot the receivables facts of a decision come from. No Zoho call of its own; `receivables` is null while no active rule reads receivables facts.',
        tags: ['risk'],
        security: CALLER_SECURITY,
        params: ContactParamsSchema,
        querystring: z.strictObject({
          organization_id: ZohoIdSchema.optional().describe('Zoho organization; default ZOHO_ORGANIZATION_ID'),
        }),
        response: { 200: CustomerReceivablesSchema, ...problemResponses(400, 401, 403, 429, 503) },
      },
    },
    async (req) => {
      const org = app.zoho.organization(req.query.organization_id)
      const base = { contact_id: req.params.contact_id, organization_id: org }
      if (!usesReceivables(app.rules.for(org).current())) return { ...base, receivables: null }
      const { customer, asOf } = await app.receivables.forCustomer(org, req.params.contact_id)
      const now = Date.now()
      return {
        ...base,
        receivables: {
          as_of: new Date(asOf).toISOString(),
          age_seconds: Math.max(0, Math.floor((now - asOf) / 1000)),
          ageing: ageingBuckets(customer, todayIn(app.zoho.settings(org).timeZone, now)),
          open_invoices: customer.invoices.filter((i) => i.balance_bcy > 0).length,
          open_orders_bcy: customer.open_orders_bcy,
        },
      }
    },
  )

  app.get(
    '/zoho/budget',
    {
      config: { auth: 'readers' },
      schema: {
        operationId: 'getZohoBudget',
        summary: 'Zoho calls in the last minute per organization, against the budget',
        description:
          'Zoho blocks a whole organization beyond 100 calls a minute; creditgate spends at most the organization’s budget (zoho_requests_per_minute in ORGANIZATIONS_FILE, else ZOHO_REQUESTS_PER_MINUTE). With Redis the count is every instance’s (each call is announced to all).',
        tags: ['operations'],
        security: CALLER_SECURITY,
        response: { 200: BudgetSchema, ...problemResponses(401, 403, 429) },
      },
    },
    async () => ({ organizations: app.zoho.usage() }),
  )
}
