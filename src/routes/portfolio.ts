import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { type CustomerReceivables, receivablesFacts, todayIn } from '../domain/receivables.js'
import { Problem } from '../errors.js'
import { CALLER_SECURITY } from '../plugins/access.js'
import { usesReceivables } from '../rules/rule-set.js'
import { limitText, problemResponses, SearchTextSchema, ZohoIdSchema } from './schemas.js'

export const PORTFOLIO_SORTS = ['exposure', 'overdue', 'oldest_overdue_days', 'name'] as const
type Sort = (typeof PORTFOLIO_SORTS)[number]

const PortfolioRowSchema = z.object({
  contact_id: z.string(),
  contact_name: z
    .string()
    .nullable()
    .describe('The name from the contact cache (a contact decided on within CONTACT_STALE_TTL_SECONDS); null when not cached'),
  open_invoices: z.number().int().min(0).describe('Open invoices with a balance'),
  open_invoices_bcy: z.number().describe('The balances of its open invoices, in base currency'),
  open_orders_bcy: z.number().describe('Open sales orders not yet invoiced, in base currency'),
  exposure_bcy: z.number().describe('open_invoices_bcy + open_orders_bcy (reservations and unused credits are not in the snapshot)'),
  overdue_bcy: z.number().describe('Balance past its due date, as the overdue_bcy fact counts it'),
  overdue_invoices: z.number().int().min(0),
  oldest_overdue_days: z.number().int().min(0).describe('Days past due of the oldest unpaid invoice (0: nothing overdue)'),
})

const PortfolioSchema = z
  .object({
    organization_id: z.string(),
    as_of: z
      .string()
      .nullable()
      .describe('When the snapshot was read from Zoho (ISO 8601); null when no active rule reads receivables facts (nothing is read)'),
    age_seconds: z.number().int().min(0).nullable(),
    total: z.number().int().min(0).describe('Customers matching `q` (all with open receivables without it)'),
    offset: z.number().int().min(0),
    next_offset: z.number().int().min(0).nullable().describe('The offset of the next page; null on the last'),
    customers: z.array(PortfolioRowSchema),
  })
  .meta({ id: 'Portfolio' })

type Row = z.output<typeof PortfolioRowSchema>

const cents = (n: number) => Math.round(n * 100) / 100

/** One customer's row, its figures counted as the receivables facts count them on `today`. */
function row(contactId: string, customer: CustomerReceivables, today: string): Row {
  const open = customer.invoices.filter((i) => i.balance_bcy > 0)
  const invoiced = cents(open.reduce((sum, i) => sum + i.balance_bcy, 0))
  const facts = receivablesFacts(customer, invoiced, 0, today)
  return {
    contact_id: contactId,
    contact_name: customer.name ?? null,
    open_invoices: open.length,
    open_invoices_bcy: invoiced,
    open_orders_bcy: customer.open_orders_bcy,
    exposure_bcy: cents(invoiced + customer.open_orders_bcy),
    overdue_bcy: facts.overdue_bcy,
    overdue_invoices: facts.overdue_invoices,
    oldest_overdue_days: facts.oldest_overdue_days,
  }
}

const byId = (a: Row, b: Row) => (a.contact_id.length - b.contact_id.length || (a.contact_id < b.contact_id ? -1 : 1)) as number
const ORDER: Record<Sort, (a: Row, b: Row) => number> = {
  exposure: (a, b) => b.exposure_bcy - a.exposure_bcy || byId(a, b),
  overdue: (a, b) => b.overdue_bcy - a.overdue_bcy || byId(a, b),
  oldest_overdue_days: (a, b) => b.oldest_overdue_days - a.oldest_overdue_days || b.overdue_bcy - a.overdue_bcy || byId(a, b),
  name: (a, b) => (a.contact_name ?? '\uffff').localeCompare(b.contact_name ?? '\uffff', 'en') || byId(a, b),
}

/**
 * GET /receivables: the organization's customers with open receivables, from the snapshot the
 * receivables facts come from (never a Zoho call), sorted and searched for the credit console's
 * portfolio.
 */
export const portfolioRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/receivables',
    {
      config: { auth: 'readers' },
      schema: {
        operationId: 'listReceivables',
        summary: 'Every customer with open receivables: the portfolio',
        description:
          'The customers of the organization’s receivables snapshot (open invoices or open sales orders), with exposure, overdue balance and the oldest overdue days counted as the receivables facts count them, sorted largest first (`sort=name`: by name), searched by name or contact id (`q`), a page at a time. No Zoho call: the snapshot is the one decisions use (503 while none has been read); names come from the contact cache.',
        tags: ['risk'],
        security: CALLER_SECURITY,
        querystring: z.strictObject({
          organization_id: ZohoIdSchema.optional().describe('Zoho organization; default ZOHO_ORGANIZATION_ID'),
          sort: z
            .enum(PORTFOLIO_SORTS)
            .optional()
            .describe('exposure (default), overdue, oldest_overdue_days: largest first; name: A to Z'),
          q: SearchTextSchema.optional().describe('Part of the name (any case), or the start of the contact id'),
          limit: limitText(500, 100).describe('Customers per page, 1 to 500 (default 100)'),
          offset: z
            .string()
            .regex(/^(0|[1-9]\d{0,6})$/, 'must be a whole number from 0')
            .transform(Number)
            .optional()
            .describe('Skip this many customers (next_offset of the previous page)'),
        }),
        response: { 200: PortfolioSchema, ...problemResponses(400, 401, 403, 429, 503) },
      },
    },
    async (req) => {
      const { sort = 'exposure', q, limit, offset = 0 } = req.query
      const org = app.zoho.organization(req.query.organization_id)
      const empty = { organization_id: org, as_of: null, age_seconds: null, total: 0, offset, next_offset: null, customers: [] }
      if (!usesReceivables(app.rules.for(org).current())) return empty
      const snapshot = await app.receivables.snapshot(org)
      if (!snapshot) {
        throw new Problem('upstream_unavailable', `no receivables of organization ${org} have been read from Zoho yet`, {
          retryAfterSeconds: 30,
        })
      }
      const now = Date.now()
      const today = todayIn(app.zoho.settings(org).timeZone, now)
      let rows = [...snapshot.customers].map(([id, customer]) => row(id, customer, today))
      // Names come with the listings; the contact cache names customers listed before they did.
      const named = async (list: Row[]) => {
        const unnamed = list.filter((r) => r.contact_name === null)
        const names = await Promise.all(unnamed.map((r) => app.cachedContactName(org, r.contact_id).catch(() => undefined)))
        unnamed.forEach((r, i) => {
          r.contact_name = names[i] ?? null
        })
      }
      // Names are needed for every row only to search or sort by them; else only for the page.
      if (q !== undefined || sort === 'name') await named(rows)
      if (q !== undefined) {
        const needle = q.toLocaleLowerCase('en')
        rows = rows.filter((r) => r.contact_id.startsWith(q) || (r.contact_name?.toLocaleLowerCase('en').includes(needle) ?? false))
      }
      rows.sort(ORDER[sort])
      const page = rows.slice(offset, offset + limit)
      if (q === undefined && sort !== 'name') await named(page)
      return {
        organization_id: org,
        as_of: new Date(snapshot.as_of).toISOString(),
        age_seconds: Math.max(0, Math.floor((now - snapshot.as_of) / 1000)),
        total: rows.length,
        offset,
        next_offset: offset + limit < rows.length ? offset + limit : null,
        customers: page,
      }
    },
  )
}
