import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorRecord } from '../domain/actor.js'
import { CALLER_SECURITY, createWebhookCheck } from '../plugins/access.js'
import { usesReceivables } from '../rules/rule-set.js'
import { ContactParamsSchema, problemResponses, ZohoIdSchema } from './schemas.js'

export interface CacheRouteOptions {
  webhookSecret: string | undefined
}

/** A Zoho id as Zoho's webhook templates may send it: digits as a string, or a (safe) number. */
const WebhookId = z
  .union([ZohoIdSchema, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)])
  .transform(String)
  .describe('A Zoho id: digits as a string (or a number below 2^53)')

/** A document whose workflow rule sent the webhook: only which customer it names is read. */
const DocumentSchema = z.looseObject({ customer_id: WebhookId })

const WebhookBodySchema = z
  .looseObject({
    contact_id: WebhookId.optional(),
    contact: z.looseObject({ contact_id: WebhookId }).optional(),
    customer_id: WebhookId.optional(),
    invoice: DocumentSchema.optional(),
    salesorder: DocumentSchema.optional(),
    payment: DocumentSchema.optional(),
    organization_id: WebhookId.optional(),
  })
  .transform((body, ctx) => {
    const document = body.invoice ?? body.salesorder ?? body.payment
    const contactId = body.contact?.contact_id ?? body.contact_id ?? body.customer_id ?? document?.customer_id
    if (contactId === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'name the customer: {"contact_id": "…"}, {"contact": {"contact_id": "…"}}, {"invoice"|"salesorder"|"payment": {"customer_id": "…"}} or the form field contact_id',
      })
      return z.NEVER
    }
    // An invoice, payment or sales order changed the customer's receivables, not only its balances.
    const receivables = document !== undefined || body.customer_id !== undefined
    return { contactId, receivables, organizationId: body.organization_id }
  })
  .meta({ id: 'ZohoWebhook' })

const InvalidatedSchema = z
  .object({
    invalidated: z.array(z.object({ organization_id: z.string(), contact_id: z.string() })),
  })
  .meta({ id: 'Invalidated' })

const OrganizationQuerySchema = z.strictObject({
  organization_id: ZohoIdSchema.optional().describe('Only this organization; default: every organization in ZOHO_ORGANIZATION_IDS'),
})

export const cacheRoutes: FastifyPluginAsyncZod<CacheRouteOptions> = async (app, options) => {
  await app.register(formbody)
  /** The organization asked for (if allowed), else every allowed one. */
  const organizationsFor = (requested: string | undefined) =>
    requested === undefined ? [...app.zoho.organizations] : [app.zoho.organization(requested)]
  const invalidate = async (orgs: string[], contactId: string) => {
    for (const org of orgs) await app.contacts.invalidate(org, contactId)
    return { invalidated: orgs.map((org) => ({ organization_id: org, contact_id: contactId })) }
  }

  app.delete(
    '/contacts/:contact_id/cache',
    {
      config: { auth: 'admin', paramsProblem: 'invalid_contact_id' },
      schema: {
        operationId: 'purgeContactCache',
        summary: 'Forget the cached copy of a contact',
        description:
          'Removes the contact from the cache of every instance, so that the next decision fetches it from Zoho. Admin key required. Idempotent.',
        tags: ['cache'],
        security: CALLER_SECURITY,
        params: ContactParamsSchema,
        querystring: OrganizationQuerySchema,
        response: { 200: InvalidatedSchema, ...problemResponses(400, 401, 403, 429, 500) },
      },
    },
    async (req) => {
      const done = await invalidate(organizationsFor(req.query.organization_id), req.params.contact_id)
      const orgs = done.invalidated.map((each) => each.organization_id)
      if (req.actor) {
        app.audit.record({
          kind: 'cache.purged',
          by: req.actor.name,
          actor: actorRecord(req.actor),
          ...(orgs.length === 1 ? { organization_id: orgs[0] } : {}),
          contact_id: req.params.contact_id,
          detail: `forgotten on every instance, in organization ${orgs.join(', ')}`,
        })
      }
      return done
    },
  )

  app.post(
    '/webhooks/zoho',
    {
      onRequest: createWebhookCheck(options.webhookSecret),
      schema: {
        operationId: 'zohoWebhook',
        summary: 'Zoho Books workflow webhook: a contact changed',
        description: `Invalidates the cached contacts the payload names, in every allowed organization (or the one in \`organization_id\`), so the next decision re-fetches them from Zoho. The payload's other fields are never trusted.

Authenticate with the shared secret \`WEBHOOK_SECRET\` in the \`X-Webhook-Secret\` header or the \`secret\` query parameter. Accepts JSON (\`{"contact": {"contact_id": "…"}}\` or \`{"contact_id": "…"}\`) or a form field \`contact_id\`. Idempotent.

Invoice, payment and sales-order workflow webhooks (\`{"invoice": {"customer_id": "…"}}\`, \`{"payment": {…}}\`, \`{"salesorder": {…}}\`, or \`customer_id\`) also re-read that customer's open invoices and sales orders in the background, where rules use them: only in the organization that owns the customer (as far as creditgate knows without asking Zoho), merged with other webhooks for the same customer, and never with the Zoho calls kept for decisions.`,
        tags: ['cache'],
        security: [{ webhookSecret: [] }],
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        querystring: z.looseObject({ secret: z.string().optional().describe('The shared secret, if not sent in X-Webhook-Secret') }),
        body: WebhookBodySchema,
        response: { 200: InvalidatedSchema, ...problemResponses(400, 401, 403, 415, 500) },
      },
    },
    async (req) => {
      const { contactId, receivables, organizationId } = req.body
      const orgs = organizationsFor(organizationId)
      // Re-read in the background (Zoho's webhook need not wait), when the rules read receivables
      // at all; before the purge, which would forget one sign of the organization owning the customer.
      if (receivables && app.rules.all().some(usesReceivables)) await app.receivables.customerChanged(orgs, contactId)
      return invalidate(orgs, contactId)
    },
  )
}
