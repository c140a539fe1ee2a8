import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Counter } from 'prom-client'
import { isStaff } from '../domain/actor.js'
import { type RiskDecision, RiskDecisionSchema } from '../domain/decision.js'
import type { Order } from '../domain/facts.js'
import { compiledSerializer } from '../lib/serializer.js'
import { CALLER_SECURITY, callerBucket } from '../plugins/access.js'
import { ContactParamsSchema, problemResponses, RiskBodySchema, RiskQuerySchema } from './schemas.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The decision log line already described this request (lib/logging.ts skips its own line). */
    decisionLogged?: boolean
  }
}

const DESCRIPTION = `Fetches the contact from Zoho Books (through the cache), evaluates every rule, and answers
\`allow\`, \`review\` or \`block\` with the reasons and alerts behind it.

- \`block\` if any block rule fires, else \`review\` if any review rule fires, else \`allow\`. Alerts never change the decision.
- \`contact.source\` says where the data came from: \`zoho\` (fetched now), \`cache\` (fresh copy), \`stale\` (Zoho could not answer; an older copy was used).
- Invalid input is rejected before Zoho is called.`

export const riskRoutes: FastifyPluginAsyncZod = async (app) => {
  const registers = [app.metrics.registry]
  const decisionsTotal = new Counter({
    name: 'creditgate_decisions_total',
    help: 'Decisions by outcome',
    labelNames: ['decision'],
    registers,
  })
  for (const decision of ['allow', 'review', 'block']) decisionsTotal.inc({ decision }, 0)
  const rulesFired = new Counter({
    name: 'creditgate_rule_fired_total',
    help: 'Rules that fired in decisions, by rule and type',
    labelNames: ['rule', 'type'],
    registers,
  })

  /**
   * The decision log: one line per decision with what it takes to audit and reproduce it (the
   * facts and the rules version), and the metrics by outcome and rule.
   */
  const record = (req: FastifyRequest, reply: FastifyReply, decision: RiskDecision, order: Order | undefined) => {
    req.decisionLogged = true
    decisionsTotal.inc({ decision: decision.decision })
    for (const r of decision.reasons) rulesFired.inc({ rule: r.rule, type: r.severity })
    for (const a of decision.alerts) rulesFired.inc({ rule: a.rule, type: 'alert' })
    req.log.info(
      {
        decision_id: decision.decision_id,
        contact_id: decision.contact_id,
        organization_id: decision.organization_id,
        decision: decision.decision,
        reasons: decision.reasons.map((r) => r.code),
        alerts: decision.alerts.map((a) => a.code),
        rules_version: decision.rules_version,
        contact_source: decision.contact?.source ?? null,
        contact_age_seconds: decision.contact?.age_seconds ?? null,
        facts: decision.facts,
        order: order ?? null,
        caller: req.caller,
        latency_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'decision',
    )
  }

  const shared = {
    config: { auth: 'caller' as const, paramsProblem: 'invalid_contact_id' as const },
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
    const decision = await app.decisions.decide({
      org: app.zoho.organization(input.organization_id),
      contactId: req.params.contact_id,
      order: input.order,
      explain: input.explain,
      caller: callerBucket(req),
      // Staff (admin keys, people signed in) are not a party to the caller share: their look-ups are never refused by it.
      party: isStaff(req.actor) ? undefined : req.caller,
    })
    record(req, reply, decision, input.order)
    return decision
  }

  app.get(
    '/contacts/:contact_id/risk',
    {
      ...shared,
      // Staff look a customer up too (the console's customer view); only callers POST orders (reservations).
      config: { ...shared.config, auth: 'anyone' as const },
      // A GET decides and records: fastify's HEAD twin would run it too, for an answer without a body.
      exposeHeadRoute: false,
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
