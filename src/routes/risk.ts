import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Order } from '../domain/contact.js'
import { type RiskDecision, RiskDecisionSchema } from '../domain/decision.js'
import { Problem } from '../errors.js'
import type { DecisionService } from '../services/decisions.js'
import { CALLER_SECURITY } from './auth.js'
import { ContactParamsSchema, problemResponses, RiskBodySchema, RiskQuerySchema } from './schemas.js'
import { compiledSerializer } from './serialization.js'

/** Logs and counts a decision once it is made. */
export type DecisionRecorder = (req: FastifyRequest, reply: FastifyReply, decision: RiskDecision, order: Order | undefined) => void

export interface RiskRouteOptions {
  decisions: DecisionService
  defaultOrganization: string
  organizations: readonly string[]
  record: DecisionRecorder
}

const DESCRIPTION = `Fetches the contact from Zoho Books (through the cache), evaluates every rule, and answers
\`allow\`, \`review\` or \`block\` with the reasons and alerts behind it.

- \`block\` if any block rule fires, else \`review\` if any review rule fires, else \`allow\`. Alerts never change the decision.
- \`contact.source\` says where the data came from: \`zoho\` (fetched now), \`cache\` (fresh copy), \`stale\` (Zoho could not answer; an older copy was used).
- Invalid input is rejected before Zoho is called.`

export const riskRoutes: FastifyPluginAsyncZod<RiskRouteOptions> = async (app, options) => {
  const allowed = new Set(options.organizations)
  const organization = (requested: string | undefined) => {
    const org = requested ?? options.defaultOrganization
    if (!allowed.has(org)) throw new Problem('forbidden', `organization ${org} is not one this service may ask about`)
    return org
  }
  const shared = {
    config: { auth: 'caller' as const },
    serializerCompiler: compiledSerializer,
  }
  const schema = {
    tags: ['risk'],
    security: CALLER_SECURITY,
    params: ContactParamsSchema,
    response: {
      200: {
        description: 'The decision, with the reasons and alerts behind it',
        content: { 'application/json': { schema: RiskDecisionSchema } },
      },
      ...problemResponses(400, 401, 403, 404, 429, 500, 502, 503),
    },
  }
  /** Both routes: decide, log and count the decision, answer it. */
  const answer = async (
    req: FastifyRequest<{ Params: { contact_id: string } }>,
    reply: FastifyReply,
    input: { organization_id?: string | undefined; order?: Order | undefined; explain?: boolean | undefined },
  ) => {
    const decision = await options.decisions.decide({
      org: organization(input.organization_id),
      contactId: req.params.contact_id,
      order: input.order,
      explain: input.explain,
    })
    options.record(req, reply, decision, input.order)
    return decision
  }

  app.get(
    '/contacts/:contact_id/risk',
    {
      ...shared,
      schema: {
        ...schema,
        operationId: 'getContactRisk',
        summary: 'May this customer place a new order now?',
        description: `${DESCRIPTION}\n\nThe order amount, if any, goes in the query string.`,
        querystring: RiskQuerySchema,
      },
    },
    async (req, reply) => {
      const { organization_id, order_amount, explain } = req.query
      return answer(req, reply, { organization_id, order: order_amount === undefined ? undefined : { amount: order_amount }, explain })
    },
  )

  app.post(
    '/contacts/:contact_id/risk',
    {
      ...shared,
      schema: {
        ...schema,
        operationId: 'postContactRisk',
        summary: 'May this customer place this order?',
        description: `${DESCRIPTION}\n\nThe order goes in the JSON body; its \`currency\` and \`reference\` are logged with the decision.`,
        body: RiskBodySchema,
      },
    },
    async (req, reply) => answer(req, reply, req.body),
  )
}
