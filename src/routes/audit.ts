import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AUDIT_KEPT, AUDIT_KINDS, AuditEntrySchema } from '../domain/audit.js'
import { parseTime, TimeSchema } from '../domain/history.js'
import { CALLER_SECURITY } from '../plugins/access.js'
import { AUDIT_BOUNDS, isAuditCursor } from '../services/audit.js'
import { CaseIdSchema, limitText, problemResponses, ZohoIdSchema } from './schemas.js'

const AuditPageSchema = z
  .object({
    entries: z.array(AuditEntrySchema).describe('Newest first'),
    next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null when there is none'),
  })
  .meta({ id: 'AuditPage' })

export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/audit',
    {
      config: { auth: 'readers' },
      schema: {
        operationId: 'listAudit',
        summary: 'The audit trail: case transitions, purges and backtests, newest first',
        description: `Who did what beside asking for decisions: every case transition (opened, released, rejected, expired, reopened, cleared), every cache purge and every rule backtest, with when, why, and who — a person by subject, name and roles (signed in through the identity provider), an API key by its name. Filtered by kind, contact, case and time; with \`contact_id\` it is the customer's trail beside its decisions (GET /decisions?contact_id=). One request looks at no more than ${AUDIT_BOUNDS.scanned.toLocaleString('en')} entries: a page may come back short with a cursor when few match. The newest ${AUDIT_KEPT.toLocaleString('en')} or so entries are kept (in Redis; in the process without it).`,
        tags: ['history'],
        security: CALLER_SECURITY,
        querystring: z.strictObject({
          kind: z.enum(AUDIT_KINDS).optional(),
          contact_id: ZohoIdSchema.meta({ example: '460000000026049' }).optional(),
          case_id: CaseIdSchema.optional(),
          since: TimeSchema.optional(),
          limit: limitText(500, 50).describe('Entries per page, 1 to 500 (default 50)'),
          cursor: z.string().max(40).refine(isAuditCursor, 'must be a next_cursor from a previous page').optional(),
        }),
        response: { 200: AuditPageSchema, ...problemResponses(400, 401, 403, 429, 500) },
      },
    },
    async (req) => {
      const { kind, contact_id, case_id, since, limit, cursor } = req.query
      return app.audit.list({
        kind,
        contactId: contact_id,
        caseId: case_id,
        sinceMs: since === undefined ? undefined : parseTime(since, Date.now()),
        limit,
        cursor,
      })
    },
  )
}
