import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { DryRunDecisionSchema, EVENT_TYPES } from '../domain/decision.js'
import { OrderSchema } from '../domain/facts.js'
import { SuppliedPaymentsSchema, SuppliedTodaySchema } from '../domain/payments.js'
import { SuppliedReceivablesSchema } from '../domain/receivables.js'
import { Problem } from '../errors.js'
import { CALLER_SECURITY } from '../plugins/access.js'
import { RuleErrorSchema, type RuleSet, type RuleSource } from '../rules/rule-set.js'
import { FixtureReportSchema, fixtureContact } from '../services/rule-sets/fixtures.js'
import { ReloadFailureSchema, ReloadResultSchema, type RulesManager } from '../services/rule-sets/manager.js'
import { readRulesFolder } from '../services/rule-sets/sources.js'
import { problemResponses } from './schemas.js'

export interface RulesRouteOptions {
  rulesDir: string
}

const RuleSetStatusSchema = z
  .object({
    version: z.string().describe('Content hash of the active set; every decision carries it'),
    loaded_at: z.string(),
    rules: z.array(
      z.object({
        file: z.string(),
        name: z.string(),
        description: z.string().optional(),
        type: z.enum(EVENT_TYPES),
        code: z.string(),
        message: z.string(),
        priority: z.number().int(),
        conditions: z.unknown(),
      }),
    ),
    fixtures: FixtureReportSchema,
    last_error: ReloadFailureSchema.nullable().describe(
      'Why the last change to the rules folder was not activated; null when the last change went live',
    ),
  })
  .meta({ id: 'RuleSetStatus' })

export const CandidateSchema = z
  .array(
    z.strictObject({
      file: z.string().regex(/^[A-Za-z0-9._-]{1,100}\.json$/, 'a file name such as "my-rule.json"'),
      content: z.unknown().describe('The file: a JSON object, or its text'),
    }),
  )
  .max(500)
  .describe('A whole candidate set: every rule file, as it would be in the rules folder')

const ValidationSchema = z
  .object({
    valid: z.boolean().describe('true: this set would go live'),
    version: z.string().nullable(),
    errors: z.array(RuleErrorSchema),
    fixtures: FixtureReportSchema,
  })
  .meta({ id: 'RuleValidation' })

/** A candidate set, validated as a reload would (without fixtures: a candidate is meant to change outcomes); 422 otherwise. */
export async function compileCandidate(rules: Pick<RulesManager, 'check'>, sources: readonly RuleSource[]): Promise<RuleSet> {
  const compiled = await rules.check(sources, [])
  if (!compiled.ok) {
    const first = compiled.errors.slice(0, 3).map((e) => `${e.file} ${e.path}: ${e.message}`)
    throw new Problem('invalid_rules', `${compiled.errors.length} error(s) in the candidate rules: ${first.join('; ')}`)
  }
  return compiled.ruleSet
}

const toStatus = (ruleSet: RuleSet, rules: RulesManager) => ({
  version: ruleSet.version,
  loaded_at: ruleSet.loadedAt,
  rules: ruleSet.rules.map((r) => ({
    file: r.file,
    name: r.definition.name,
    ...(r.definition.description ? { description: r.definition.description } : {}),
    type: r.type,
    code: r.definition.event.params.code,
    message: r.definition.event.params.message,
    priority: r.definition.priority ?? 1,
    conditions: r.definition.conditions,
  })),
  fixtures: rules.fixtures,
  last_error: rules.lastError ?? null,
})

export const rulesRoutes: FastifyPluginAsyncZod<RulesRouteOptions> = async (app, options) => {
  const { rules } = app

  app.get(
    '/rules',
    {
      config: { auth: 'anyone' },
      schema: {
        operationId: 'getRules',
        summary: 'The active rule set, and why the last change was refused',
        description:
          'Version, load time, every rule with its file, the fixture results, and `last_error`: the files, JSON paths and messages (or failing fixtures) that kept the last change to the rules folder from going live.',
        tags: ['rules'],
        security: CALLER_SECURITY,
        response: { 200: RuleSetStatusSchema, ...problemResponses(401, 429, 500) },
      },
    },
    async () => toStatus(rules.current(), rules),
  )

  app.post(
    '/rules/validate',
    {
      config: { auth: 'readers' },
      bodyLimit: 1024 * 1024,
      schema: {
        operationId: 'validateRules',
        summary: 'Check a candidate rule set without activating it',
        description:
          'Validates the whole candidate set as the service would before activating it, and runs the fixture tests of the rules folder (or `fixtures`, if given) against it. Nothing is activated.',
        tags: ['rules'],
        security: CALLER_SECURITY,
        body: z.strictObject({
          rules: CandidateSchema,
          fixtures: CandidateSchema.optional().describe('Fixture files to run instead of those in rules/tests/'),
        }),
        response: { 200: ValidationSchema, ...problemResponses(400, 401, 403, 413, 429, 500) },
      },
    },
    async (req) => {
      const fixtures =
        req.body.fixtures?.map((f) => ({ ...f, file: `tests/${f.file}` })) ?? (await readRulesFolder(options.rulesDir)).fixtures
      const prepared = await rules.check(req.body.rules, fixtures)
      return {
        valid: prepared.ok,
        version: prepared.ruleSet?.version ?? null,
        errors: prepared.ok ? [] : prepared.errors,
        fixtures: prepared.fixtures,
      }
    },
  )

  app.post(
    '/rules/reload',
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'reloadRules',
        summary: 'Reload the rules folder now',
        description:
          'What a file change or SIGHUP does: read, validate and test the folder, and activate it if all passes. A rejected set leaves the last good one active (`result: rejected`, with the errors).',
        tags: ['rules'],
        security: CALLER_SECURITY,
        response: { 200: ReloadResultSchema, ...problemResponses(401, 403, 429, 500) },
      },
    },
    async (req) => rules.reload(`POST /rules/reload by ${req.caller ?? 'unknown'}`),
  )

  app.post(
    '/risk/evaluate',
    {
      config: { auth: 'readers' },
      bodyLimit: 1024 * 1024,
      schema: {
        operationId: 'evaluateRisk',
        summary: 'Dry run: the decision for a contact you supply',
        description:
          'Evaluates the active rules (or a candidate set in `rules`) against the contact and order in the body. Contact fields left out are those of an active customer with nothing outstanding. No Zoho call, no cache.',
        tags: ['rules'],
        security: CALLER_SECURITY,
        body: z.strictObject({
          contact: z
            .record(z.string(), z.unknown())
            .describe('Zoho Books contact fields, e.g. {"outstanding_receivable_amount_bcy": 62400}'),
          order: OrderSchema.optional(),
          receivables: SuppliedReceivablesSchema.optional(),
          payments: SuppliedPaymentsSchema.optional(),
          today: SuppliedTodaySchema.optional().describe(
            'The day review and limit dates are compared with; default today in ORG_TIME_ZONE',
          ),
          rules: CandidateSchema.optional(),
          explain: z.boolean().optional(),
        }),
        response: { 200: DryRunDecisionSchema, ...problemResponses(400, 401, 403, 413, 422, 429, 500) },
      },
    },
    async (req) => {
      const ruleSet = req.body.rules ? await compileCandidate(rules, req.body.rules) : undefined
      const contact = fixtureContact(req.body.contact)
      if (!contact.ok) throw new Problem('invalid_request', `body.contact: ${contact.problem}`)
      return app.decisions.dryRun({
        contact: contact.contact,
        order: req.body.order,
        receivables: req.body.receivables,
        payments: req.body.payments,
        today: req.body.today,
        ruleSet,
        explain: req.body.explain,
      })
    },
  )
}
