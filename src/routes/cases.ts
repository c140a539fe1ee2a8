import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { isStaff } from '../domain/actor.js'
import { CASE_STATES, type Case, CaseConflict, CaseSchema } from '../domain/case.js'
import { parseTime, TimeSchema } from '../domain/history.js'
import { Problem } from '../errors.js'
import { type AuthLevel, CALLER_SECURITY, callerBucket } from '../plugins/access.js'
import { DeliverySchema } from '../services/callbacks.js'
import { CASE_LIST_BOUNDS, isCaseCursor } from '../services/case-list.js'
import { limitText, problemResponses, ZohoIdSchema } from './schemas.js'

/**
 * Who may do what with cases: staff read them all (viewers, approvers, admins), a caller only the
 * cases its own orders opened (checked below); approvers and admins release and reject, within
 * RELEASE_LIMITS.
 */
export const CASE_ACCESS: Record<'list' | 'read' | 'release' | 'reject', AuthLevel> = {
  list: 'readers',
  read: 'anyone',
  release: 'approvers',
  reject: 'approvers',
}

/** Words from a person: bounded. */
const text = (max: number) => z.string().trim().min(1).max(max)
const CaseIdParams = z.object({
  case_id: z.string().max(40).meta({ description: 'The case_id of a decision answer', example: 'case_3f2a9c0d41b7e85a6c1d2e3f' }),
})
const ReleaseBody = z.strictObject({
  reason: text(200).describe('Why the order may go ahead (required; in the case history and the callback)'),
  note: text(2000).optional(),
  amount: z.number().min(0).max(1e15).optional().describe("The largest order amount released; default the held order's"),
  valid_until: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Until when the release is honoured; default RELEASE_VALID_DAYS from now'),
})
const RejectBody = z.strictObject({ reason: text(200).describe('Why the order may not go ahead (required)'), note: text(2000).optional() })
const CaseViewSchema = CaseSchema.extend({
  callbacks: z.array(DeliverySchema).describe("The case's callback events (CALLBACK_URLS): pending, delivered or given up, with attempts"),
}).meta({ id: 'CaseView' })
const CasePageSchema = z
  .object({
    cases: z.array(CaseSchema).describe('Oldest first'),
    next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null when there is none'),
  })
  .meta({ id: 'CasePage' })

const notFound = () => new Problem('case_not_found', 'no case with this id is visible to this API key')

/** A case, to a staff key or the caller key whose order opened it; 404 to anyone else, whether it exists or not. */
const visible = (req: FastifyRequest, found: Case | undefined) => {
  if (!found || (!isStaff(req.actor) && found.opened_by !== callerBucket(req))) throw notFound()
  return found
}

/** The domain's refusals as problems: a forced hold or a closed case is 409; over the releaser's limit 403; a bad date 400. */
const conflict = (err: unknown): never => {
  if (!(err instanceof CaseConflict)) throw err
  if (err.kind === 'limit') throw new Problem('forbidden', err.message)
  if (err.kind === 'invalid') throw new Problem('invalid_request', err.message)
  throw new Problem('case_conflict', err.message)
}

export const caseRoutes: FastifyPluginAsyncZod = async (app) => {
  const tags = ['cases']
  const security = CALLER_SECURITY
  app.get(
    '/cases',
    {
      config: { auth: CASE_ACCESS.list },
      schema: {
        operationId: 'listCases',
        summary: 'Credit cases: held orders, oldest first',
        description: `Cases of every organization (or of one: \`organization_id\`), oldest first (by when they were opened): the worklist of held orders (\`state=open\`) and the record of who released, rejected or cleared what. An open case past CASE_EXPIRE_DAYS is shown expired. Read from an index by state and opening time, never the whole store: a page holds at most \`limit\` cases and \`next_cursor\` continues it. One request looks at no more than ${CASE_LIST_BOUNDS.scanned.toLocaleString('en')} cases: with \`contact_id\` (a filter over what is read) a page may come back short, or empty, with a cursor.`,
        tags,
        security,
        querystring: z.strictObject({
          organization_id: ZohoIdSchema.optional().describe(
            'Only this organization’s cases (read from its own index); every organization’s without it',
          ),
          state: z.enum(CASE_STATES).optional(),
          contact_id: ZohoIdSchema.meta({ example: '460000000026049' }).optional(),
          since: TimeSchema.optional().describe('Opened at or after'),
          limit: limitText(500, 100).describe('At most this many cases (1 to 500, default 100)'),
          cursor: z.string().max(60).refine(isCaseCursor, 'must be a next_cursor from a previous page').optional(),
        }),
        response: { 200: CasePageSchema, ...problemResponses(400, 401, 403, 429, 500) },
      },
    },
    async (req) => {
      const { organization_id, state, contact_id, since, limit, cursor } = req.query
      return app.cases.list({
        organization: organization_id === undefined ? undefined : app.zoho.organization(organization_id),
        state,
        contactId: contact_id,
        since: since === undefined ? undefined : parseTime(since, Date.now()),
        limit,
        cursor,
      })
    },
  )

  app.get(
    '/cases/:case_id',
    {
      config: { auth: CASE_ACCESS.read },
      schema: {
        operationId: 'getCase',
        summary: 'A credit case, with its history',
        description:
          'The case of a held order: state, the decision and reasons that held it, the release if any, every transition with who, when and why, and its callbacks with their attempts. To the caller key whose order opened it (for polling), or a staff key; 404 to anyone else.',
        tags,
        security,
        params: CaseIdParams,
        response: { 200: CaseViewSchema, ...problemResponses(401, 404, 429, 500, { operationId: 'getCase' }) },
      },
    },
    async (req) => {
      const found = visible(req, await app.cases.get(req.params.case_id))
      return { ...found, callbacks: await app.caseDeliveries(found.case_id) }
    },
  )

  app.post(
    '/cases/:case_id/release',
    {
      config: { auth: CASE_ACCESS.release },
      schema: {
        operationId: 'releaseCase',
        summary: 'Release a held order',
        description:
          'Lets the order go ahead: later decisions for its reference answer `allow` with `release`, while the order is at most `amount` × (1 + RELEASE_TOLERANCE) and `valid_until` has not passed. 409 when the case is not open or a reason is a rule marked `"releasable": false`; 403 when `amount` is above the releaser’s RELEASE_LIMITS entry.',
        tags,
        security,
        params: CaseIdParams,
        body: ReleaseBody,
        response: { 200: CaseSchema, ...problemResponses(400, 401, 403, 404, 409, 429, 500, { operationId: 'releaseCase' }) },
      },
    },
    async (req) => {
      const { actor } = req
      const released = await app.cases.release(req.params.case_id, actor as NonNullable<typeof actor>, req.body).catch(conflict)
      return released ?? Promise.reject(notFound())
    },
  )

  app.post(
    '/cases/:case_id/reject',
    {
      config: { auth: CASE_ACCESS.reject },
      schema: {
        operationId: 'rejectCase',
        summary: 'Reject a held order',
        description:
          'Closes the case: the order stays held, and later decisions for its reference keep what the rules say. 409 when the case is not open.',
        tags,
        security,
        params: CaseIdParams,
        body: RejectBody,
        response: { 200: CaseSchema, ...problemResponses(400, 401, 403, 404, 409, 429, 500, { operationId: 'rejectCase' }) },
      },
    },
    async (req) => {
      const { actor } = req
      const rejected = await app.cases.reject(req.params.case_id, actor as NonNullable<typeof actor>, req.body).catch(conflict)
      return rejected ?? Promise.reject(notFound())
    },
  )
}
