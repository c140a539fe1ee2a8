import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { listedIn, ReferenceSchema, ReservationListSchema } from '../domain/reservations.js'
import { Problem } from '../errors.js'
import { CALLER_SECURITY, callerBucket } from '../plugins/access.js'
import { usesReceivables } from '../rules/rule-set.js'
import { ContactParamsSchema, problemResponses, ZohoIdSchema } from './schemas.js'

const OrganizationQuerySchema = z.strictObject({
  organization_id: ZohoIdSchema.optional().describe('Zoho organization; default ZOHO_ORGANIZATION_ID. Must be in ZOHO_ORGANIZATION_IDS'),
})

const CancelledSchema = z
  .object({
    cancelled: z.object({
      reference: z.string(),
      contact_id: z.string(),
      organization_id: z.string(),
      amount: z.number().describe('What no longer counts against the customer’s credit'),
    }),
  })
  .meta({ id: 'CancelledReservation' })

/** Reservations (issue 24): an order system cancels its own; operations staff look at a customer's. No Zoho call. */
export const reservationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.delete(
    '/reservations/:reference',
    {
      config: { auth: 'caller' },
      schema: {
        operationId: 'cancelReservation',
        summary: 'Cancel an allowed order’s reservation',
        description:
          'The order system dropped an order that creditgate allowed (with `order.reference`): its amount stops counting against the customer’s credit at once. Only the API key that made the reservation, or an admin key; 404 for anyone else, whether it exists or not. No Zoho call.',
        tags: ['reservations'],
        security: CALLER_SECURITY,
        params: z.object({ reference: ReferenceSchema.meta({ example: 'SO-2026-0042' }) }),
        querystring: OrganizationQuerySchema,
        response: {
          200: CancelledSchema,
          ...problemResponses(400, 401, 403, 404, 429, 500, { operationId: 'cancelReservation' }),
        },
      },
    },
    async (req) => {
      const org = app.zoho.organization(req.query.organization_id)
      const cancelled = await app.reservations.cancel(org, req.params.reference, req.admin ? undefined : callerBucket(req))
      if (!cancelled) throw new Problem('reservation_not_found', 'no live reservation with this reference is kept for this API key')
      return { cancelled: { ...cancelled, organization_id: org } }
    },
  )

  app.get(
    '/contacts/:contact_id/reservations',
    {
      config: { auth: 'readers', paramsProblem: 'invalid_contact_id' },
      schema: {
        operationId: 'getContactReservations',
        summary: 'A customer’s reservations',
        description:
          'The allowed orders held against a customer’s credit, each live (counted in `reserved_bcy`), matched (the receivables this instance keeps list the order, whose document now counts it) or expired (about to be removed). No Zoho call.',
        tags: ['reservations'],
        security: CALLER_SECURITY,
        params: ContactParamsSchema,
        querystring: OrganizationQuerySchema,
        response: { 200: ReservationListSchema, ...problemResponses(400, 401, 403, 429, 500) },
      },
    },
    async (req) => {
      const org = app.zoho.organization(req.query.organization_id)
      // The receivables this instance keeps already, if any: a look at reservations never reads Zoho.
      const kept = app.receivables.ages()[org] !== undefined && usesReceivables(app.rules.for(org).current())
      const receivables = kept ? await app.receivables.forCustomer(org, req.params.contact_id).catch(() => undefined) : undefined
      const listed = receivables && listedIn(receivables.customer, receivables.asOf)
      const { views, reserved, mode } = await app.reservations.list(org, req.params.contact_id, listed)
      return { contact_id: req.params.contact_id, organization_id: org, reserved_bcy: reserved, reservations: views, mode }
    },
  )
}
