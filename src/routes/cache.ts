import { createHash, timingSafeEqual } from 'node:crypto'
import formbody from '@fastify/formbody'
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { Problem } from '../errors.js'
import { CALLER_SECURITY } from '../plugins/access.js'
import { ContactParamsSchema, problemResponses, ZohoIdSchema } from './schemas.js'

export interface CacheRouteOptions {
  webhookSecret: string | undefined
}

/** A Zoho id as Zoho's webhook templates may send it: digits as a string, or a (safe) number. */
const WebhookId = z
  .union([ZohoIdSchema, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)])
  .transform(String)
  .describe('A Zoho id: digits as a string (or a number below 2^53)')

const WebhookBodySchema = z
  .looseObject({
    contact_id: WebhookId.optional(),
    contact: z.looseObject({ contact_id: WebhookId }).optional(),
    organization_id: WebhookId.optional(),
  })
  .refine((body) => body.contact_id !== undefined || body.contact !== undefined, {
    message: 'name the contact: {"contact_id": "…"}, {"contact": {"contact_id": "…"}} or the form field contact_id',
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

const digest = (value: string) => createHash('sha256').update(value).digest()

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
    async (req) => invalidate(organizationsFor(req.query.organization_id), req.params.contact_id),
  )

  const secret = options.webhookSecret === undefined ? undefined : digest(options.webhookSecret)
  const checkSecret = async (req: FastifyRequest) => {
    if (!secret) throw new Problem('forbidden', 'the Zoho webhook is disabled: set WEBHOOK_SECRET to enable it')
    const header = req.headers['x-webhook-secret']
    const query = (req.query as Record<string, unknown> | undefined)?.secret
    const given = typeof header === 'string' ? header : typeof query === 'string' ? query : ''
    if (!timingSafeEqual(digest(given), secret)) throw new Problem('unauthorized', 'wrong or missing webhook secret')
  }

  app.post(
    '/webhooks/zoho',
    {
      onRequest: checkSecret,
      schema: {
        operationId: 'zohoWebhook',
        summary: 'Zoho Books workflow webhook: a contact changed',
        description: `Invalidates the cached contacts the payload names, in every allowed organization (or the one in \`organization_id\`), so the next decision re-fetches them from Zoho. The payload's other fields are never trusted.

Authenticate with the shared secret \`WEBHOOK_SECRET\` in the \`X-Webhook-Secret\` header or the \`secret\` query parameter. Accepts JSON (\`{"contact": {"contact_id": "…"}}\` or \`{"contact_id": "…"}\`) or a form field \`contact_id\`. Idempotent.`,
        tags: ['cache'],
        security: [{ webhookSecret: [] }],
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        querystring: z.looseObject({ secret: z.string().optional().describe('The shared secret, if not sent in X-Webhook-Secret') }),
        body: WebhookBodySchema,
        response: { 200: InvalidatedSchema, ...problemResponses(400, 401, 403, 415, 500) },
      },
    },
    async (req) => {
      const contactId = (req.body.contact?.contact_id ?? req.body.contact_id) as string
      return invalidate(organizationsFor(req.body.organization_id), contactId)
    },
  )
}
