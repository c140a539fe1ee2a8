import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
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
import { problemResponses, ZohoIdSchema } from './schemas.js'

export interface RulesRouteOptions {
  rulesDir: string
}

export const OrganizationFieldSchema = ZohoIdSchema.optional().describe(
  'The organization whose rule set is meant: its own (RULES_DIR/<organization_id>/) if it has one, else the shared set. Omitted: the shared set.',
)

/**
 * The rule set a request names: the organization's (which must be allowed: 403 otherwise), or the
 * shared set; with the folder it is read from.
 */
export function setFor(app: FastifyInstance, rulesDir: string, requested: string | undefined) {
  if (requested === undefined) return { org: undefined, rules: app.rules as RulesManager, dir: rulesDir, own: false }
  const org = app.zoho.organization(requested)
  const own = app.rules.organizations().includes(org)
  return { org, rules: app.rules.for(org), dir: own ? join(rulesDir, org) : rulesDir, own }
}

/** The organizations whose decisions a set was made for: the one named, or those without a set of their own. */
export const decidedBy = (app: FastifyInstance, org: string | undefined) =>
  org !== undefined ? [org] : app.zoho.organizations.filter((o) => !app.rules.organizations().includes(o))

const RuleSetStatusSchema = z
  .object({
    organization_id: z
      .string()
      .nullable()
      .describe('The organization asked about; null for the shared set (organizations without a folder of their own)'),
    own: z.boolean().describe('true: the organization’s own set (RULES_DIR/<organization_id>/); false: the shared set'),
    organizations: z
      .array(
        z.object({
          organization_id: z.string(),
          name: z.string().nullable().describe('What people call it (ORGANIZATIONS_FILE); null when not named'),
          base_currency: z.string().nullable().describe('Its base currency as Zoho said; null until read (or not in ORGANIZATIONS_FILE)'),
          default: z.boolean().describe('true: the organization a request without organization_id is about (ZOHO_ORGANIZATION_ID)'),
          own: z.boolean(),
          version: z.string(),
        }),
      )
      .describe('Every organization callers may ask about, and the set that decides for it'),
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
          'Version, load time, every rule with its file, the fixture results, and `last_error`: the files, JSON paths and messages (or failing fixtures) that kept the last change to the rules folder from going live. With `organization_id`, the set that decides for that organization (its own, from RULES_DIR/<organization_id>/, or the shared set) and its last error only.',
        tags: ['rules'],
        security: CALLER_SECURITY,
        querystring: z.strictObject({ organization_id: OrganizationFieldSchema }),
        response: { 200: RuleSetStatusSchema, ...problemResponses(400, 401, 403, 429, 500) },
      },
    },
    async (req) => {
      const set = setFor(app, options.rulesDir, req.query.organization_id)
      const own = rules.organizations()
      return {
        organization_id: set.org ?? null,
        own: set.own,
        organizations: app.zoho.organizations.map((org) => ({
          organization_id: org,
          name: app.zoho.settings(org).name ?? null,
          base_currency: app.zoho.baseCurrency(org),
          default: org === app.zoho.organization(undefined),
          own: own.includes(org),
          version: rules.for(org).current().version,
        })),
        ...toStatus(set.rules.current(), set.rules),
      }
    },
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
          organization_id: OrganizationFieldSchema,
          rules: CandidateSchema,
          fixtures: CandidateSchema.optional().describe(
            'Fixture files to run instead of those in rules/tests/ (RULES_DIR/<organization_id>/tests/ with an organization of its own)',
          ),
        }),
        response: { 200: ValidationSchema, ...problemResponses(400, 401, 403, 413, 429, 500) },
      },
    },
    async (req) => {
      const { dir } = setFor(app, options.rulesDir, req.body.organization_id)
      const fixtures = req.body.fixtures?.map((f) => ({ ...f, file: `tests/${f.file}` })) ?? (await readRulesFolder(dir)).fixtures
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
          'What a file change or SIGHUP does: read, validate and test the folder, and activate it if all passes. A rejected set leaves the last good one active (`result: rejected`, with the errors). Without `organization_id` every set is reloaded and the shared set’s result answered; with it, only the set that decides for that organization.',
        tags: ['rules'],
        security: CALLER_SECURITY,
        querystring: z.strictObject({ organization_id: OrganizationFieldSchema }),
        response: { 200: ReloadResultSchema, ...problemResponses(400, 401, 403, 429, 500) },
      },
    },
    async (req) => {
      const { org } = setFor(app, options.rulesDir, req.query.organization_id)
      return rules.reload(`POST /rules/reload by ${req.caller ?? 'unknown'}`, org)
    },
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
          'Evaluates the active rules of the organization (or a candidate set in `rules`) against the contact and order in the body. Contact fields left out are those of an active customer with nothing outstanding. No Zoho call, no cache.',
        tags: ['rules'],
        security: CALLER_SECURITY,
        body: z.strictObject({
          organization_id: ZohoIdSchema.optional().describe(
            'The organization whose active rules and time zone apply; default ZOHO_ORGANIZATION_ID',
          ),
          contact: z
            .record(z.string(), z.unknown())
            .describe('Zoho Books contact fields, e.g. {"outstanding_receivable_amount_bcy": 62400}'),
          order: OrderSchema.optional(),
          receivables: SuppliedReceivablesSchema.optional(),
          payments: SuppliedPaymentsSchema.optional(),
          today: SuppliedTodaySchema.optional().describe(
            'The day review and limit dates are compared with; default today in the organization’s time zone (time_zone in ORGANIZATIONS_FILE, else ORG_TIME_ZONE)',
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
        org: app.zoho.organization(req.body.organization_id),
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
