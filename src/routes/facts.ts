import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { CALLER_SECURITY } from '../plugins/access.js'
import { FACT_NAMES, FACTS, OPERATOR_NAMES, OPERATORS } from '../rules/catalogue.js'
import { problemResponses } from './schemas.js'

const FactCatalogueSchema = z
  .object({
    facts: z.array(
      z.object({
        name: z.enum(FACT_NAMES),
        kind: z
          .enum(['amount', 'number', 'string', 'boolean', 'object'])
          .describe('amount: money in the base currency (shown with two decimals); object: read with a `path`'),
        nullable: z.boolean().describe('true: the fact may be null (e.g. no credit limit, nothing paid in 12 months)'),
        source: z
          .enum(['contact', 'organization', 'receivables', 'payments', 'reservations', 'order', 'computed'])
          .describe(
            'Where its value comes from: the Zoho contact, the organization (its base currency), the open invoices and sales orders, the paid invoices of 12 months, the live reservations, the order asked about, or worked out from the contact and the order',
          ),
        description: z.string(),
      }),
    ),
    operators: z.array(
      z.object({
        name: z.enum(OPERATOR_NAMES),
        words: z.string().describe('How the console and the trace read it: "is more than"'),
        description: z.string(),
      }),
    ),
  })
  .meta({ id: 'FactCatalogue' })

/** The catalogue never changes while the service runs: built once. */
const catalogue = {
  facts: FACT_NAMES.map((name) => ({ name, ...FACTS[name] })),
  operators: OPERATOR_NAMES.map((name) => ({ name, words: OPERATORS[name].words, description: OPERATORS[name].description })),
}

/** GET /rules/facts: the facts and operators a rule may use, as the engine knows them (src/rules/catalogue.ts). */
export const factRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/rules/facts',
    {
      config: { auth: 'anyone' },
      schema: {
        operationId: 'getFactCatalogue',
        summary: 'The facts and operators a rule may use',
        description:
          'Every fact a rule may name, with its kind (which are amounts), whether it may be null, where its value comes from and what it means; every operator with its words. The credit console reads it to word facts and conditions; rules/README.md documents the same list for people.',
        tags: ['rules'],
        security: CALLER_SECURITY,
        response: { 200: FactCatalogueSchema, ...problemResponses(401, 403, 429, 500) },
      },
    },
    async () => catalogue,
  )
}
