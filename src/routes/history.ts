import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorRecord, isStaff } from '../domain/actor.js'
import { DECISIONS } from '../domain/decision.js'
import { DecisionRecordSchema, parseTime, TimeSchema } from '../domain/history.js'
import { Problem } from '../errors.js'
import { CALLER_SECURITY, callerBucket } from '../plugins/access.js'
import { isCursor, joinJson } from '../services/history.js'
import { ComparisonSchema } from '../services/rule-sets/compare.js'
import { ReloadFailureSchema } from '../services/rule-sets/manager.js'
import { readRulesFolder } from '../services/rule-sets/sources.js'
import { CandidateSchema, compileCandidate, decidedBy, OrganizationFieldSchema, setFor } from './rules.js'
import { limitText, problemResponses, ZohoIdSchema } from './schemas.js'

const DecisionPageSchema = z
  .object({
    decisions: z.array(DecisionRecordSchema).describe('Newest first'),
    next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null when there is none'),
  })
  .meta({ id: 'DecisionPage' })

const ShadowSummarySchema = ComparisonSchema.extend({
  configured: z.boolean().describe('false: RULES_SHADOW_DIR is not set'),
  organization_id: z
    .string()
    .nullable()
    .describe(
      'The organization whose decisions are counted (compared with RULES_SHADOW_DIR/<organization_id>/, or the shared shadow set while the shared live set decides for it); null: every decision compared with the shared shadow set',
    ),
  version: z.string().nullable().describe('The shadow set the counts are for; null while none has loaded'),
  loaded_at: z.string().nullable().describe('When it was loaded: the counts start there'),
  last_error: ReloadFailureSchema.nullable().describe('Why the last change to RULES_SHADOW_DIR was not loaded; null when it was'),
}).meta({ id: 'ShadowSummary' })

/** "since"/"until" as milliseconds; a time in the future or an empty range is still a valid question. */
const range = (since: string | undefined, until: string | undefined) => {
  const now = Date.now()
  return {
    sinceMs: since === undefined ? undefined : parseTime(since, now),
    untilMs: until === undefined ? undefined : parseTime(until, now),
  }
}

/** JSON already written (a string with a JSON type skips the response serializer), shaped as the route's schema says. */
const raw = (reply: FastifyReply, json: string | Buffer) => reply.type('application/json; charset=utf-8').send(json)

export const historyRoutes: FastifyPluginAsyncZod<{ rulesDir: string }> = async (app, options) => {
  app.get(
    '/decisions/:decision_id',
    {
      config: { auth: 'anyone' },
      schema: {
        operationId: 'getDecision',
        summary: 'A past decision, with the facts it was made on',
        description:
          'The decision as recorded: facts (as the decision log shows them), order, caller, rules version, decision, reasons and alerts. Only to the caller that asked for it (its API key, or the subject of its token) or to staff (an admin key; a viewer, approver or admin signed in through the identity provider); anyone else gets 404, whether it exists or not.',
        tags: ['history'],
        security: CALLER_SECURITY,
        params: z.object({
          decision_id: z
            .string()
            .max(100)
            .meta({ description: 'The decision_id of the answer', example: '019ab5a1-6c2e-7f3a-9d41-2b7c5e8f0a13' }),
        }),
        response: { 200: DecisionRecordSchema, ...problemResponses(401, 404, 429, 500, { operationId: 'getDecision' }) },
      },
    },
    async (req, reply) => {
      const found = await app.history.get(req.params.decision_id)
      if (!found || (!isStaff(req.actor) && found.caller !== callerBucket(req))) {
        throw new Problem('decision_not_found', 'no decision with this id is kept for this API key')
      }
      // The record as it was recorded (already JSON, and bounded): never decoded and encoded again.
      return raw(reply, found.json)
    },
  )

  app.get(
    '/decisions',
    {
      config: { auth: 'readers' },
      schema: {
        operationId: 'listDecisions',
        summary: 'Past decisions, newest first',
        description: `Recorded decisions of every organization (or of one: \`organization_id\`), newest first, filtered by contact and outcome and between two times (a time before 1970 means from the first). A page holds at most \`limit\` decisions and at most 512 KiB of them; \`next_cursor\` continues it. One request looks at no more than 10,000 decisions or 16 MiB of them: a page may come back short with a cursor when few match.`,
        tags: ['history'],
        security: CALLER_SECURITY,
        querystring: z.strictObject({
          organization_id: ZohoIdSchema.optional().describe('Only this organization’s decisions; every organization’s without it'),
          contact_id: ZohoIdSchema.meta({ example: '460000000026049' }).optional(),
          decision: z.enum(DECISIONS).optional(),
          since: TimeSchema.optional(),
          until: TimeSchema.optional(),
          limit: limitText(500, 50).describe('Decisions per page, 1 to 500 (default 50)'),
          cursor: z.string().max(80).refine(isCursor, 'must be a next_cursor from a previous page').optional(),
        }),
        response: { 200: DecisionPageSchema, ...problemResponses(400, 401, 403, 429, 500) },
      },
    },
    async (req, reply) => {
      const { organization_id, contact_id, decision, since, until, limit, cursor } = req.query
      const organization = organization_id === undefined ? undefined : app.zoho.organization(organization_id)
      const page = await app.history.list({ organization, contact_id, decision, ...range(since, until), limit, cursor })
      // Written around the records as recorded, as bytes: a page costs a copy, not a parse and a serialization of each.
      return raw(reply, joinJson(page.decisions, '{"decisions":[', `],"next_cursor":${JSON.stringify(page.next_cursor)}}`))
    },
  )

  app.post(
    '/rules/backtest',
    {
      config: { auth: 'admin' },
      bodyLimit: 1024 * 1024,
      schema: {
        operationId: 'backtestRules',
        summary: 'What a candidate rule set would have decided on past decisions',
        description: `Evaluates a candidate set (default: the files in RULES_DIR now, or in RULES_DIR/<organization_id>/ for an organization with its own set) on the facts recorded with past decisions of one organization (\`organization_id\`) or, without it, of the organizations the shared set decides for — no Zoho call — and compares with what was decided: the outcome matrix, how often each rule fired before and after, and up to 50 changed decisions. Decisions whose facts lack what a candidate rule reads (receivables facts recorded before any rule read them, FAIL_MODE=review answers, the raw \`contact\`) are counted as \`not_comparable\`. Runs in a worker thread; the service keeps answering. The candidate is validated like POST /rules/validate (422 with the errors), without running fixtures: a candidate is meant to change outcomes.`,
        tags: ['rules'],
        security: CALLER_SECURITY,
        body: z.strictObject({
          organization_id: OrganizationFieldSchema,
          rules: CandidateSchema.optional(),
          since: TimeSchema.optional(),
          until: TimeSchema.optional(),
          limit: z.number().int().min(1).max(1_000_000).optional().describe('The newest decisions to evaluate, at most (default 100,000)'),
        }),
        response: { 200: ComparisonSchema, ...problemResponses(400, 401, 403, 413, 422, 429, 500) },
      },
    },
    async (req) => {
      const { since, until, limit = 100_000 } = req.body
      const { org, dir } = setFor(app, options.rulesDir, req.body.organization_id)
      let sources = req.body.rules
      if (!sources) {
        const folder = await readRulesFolder(dir)
        if (folder.errors.length > 0) throw new Problem('invalid_rules', folder.errors.map((e) => `${e.file}: ${e.message}`).join('; '))
        sources = folder.rules
      }
      const ruleSet = await compileCandidate(app.rules, sources)
      const comparison = await app.history.backtest(ruleSet, range(since, until), limit, decidedBy(app, org))
      if (req.actor) {
        app.audit.record({
          kind: 'rules.backtest',
          by: req.actor.name,
          actor: actorRecord(req.actor),
          organization_id: org,
          detail: `rules ${ruleSet.version} on ${comparison.evaluated} decisions (${req.body.rules ? 'a candidate sent' : 'RULES_DIR'}): ${comparison.changed} changed`,
        })
      }
      return comparison
    },
  )

  app.get(
    '/rules/shadow',
    {
      config: { auth: 'readers' },
      schema: {
        operationId: 'getShadowRules',
        summary: 'Shadow rules: live decisions against the shadow set since it was loaded',
        description:
          'With RULES_SHADOW_DIR set, every live decision is also evaluated, after its answer, under the shadow set (RULES_SHADOW_DIR/<organization_id>/ for an organization with a shadow folder of its own; an organization with live rules of its own is compared only with its own shadow folder). This is the comparison since the shadow set now loaded was loaded (the same shape as a backtest), and why the last change to the folder was not loaded.',
        tags: ['rules'],
        security: CALLER_SECURITY,
        querystring: z.strictObject({ organization_id: OrganizationFieldSchema }),
        response: { 200: ShadowSummarySchema, ...problemResponses(400, 401, 403, 429, 500) },
      },
    },
    async (req) => app.shadow.summary(setFor(app, options.rulesDir, req.query.organization_id).org),
  )
}
