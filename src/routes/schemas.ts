import { z } from 'zod'
import { OrderSchema } from '../domain/facts.js'
import { PROBLEMS, type ProblemCode } from '../errors.js'

/** Request and error shapes shared by the routes. One zod schema each; OpenAPI is generated. */

/**
 * Ids in their one canonical form, with no leading zero: "0460000000031013" would name the contact
 * 460000000031013 to a backend that reads it as a number, under a cache, receivables and history key
 * of its own. Refused (400) rather than stripped, so that every id creditgate logs and records is
 * the one Zoho answers with.
 */
export const ZohoIdSchema = z
  .string()
  .regex(/^[1-9]\d{0,18}$/, 'must be 1 to 19 decimal digits, without a leading zero')
  .describe('A Zoho id: 1 to 19 decimal digits without a leading zero, as a string (real ids exceed 2^53)')

export const ContactParamsSchema = z.object({
  contact_id: ZohoIdSchema.meta({
    description: 'Zoho Books contact id: 1 to 19 decimal digits without a leading zero, as a string',
    example: '460000000026049',
  }),
})

const amountText = z
  .string()
  .regex(/^(0|[1-9]\d{0,14})(\.\d{1,4})?$/, 'must be an amount ≥ 0 like 1000 or 1000.50 (no sign, no separators)')
  .transform(Number)

const booleanText = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')

export const RiskQuerySchema = z.strictObject({
  organization_id: ZohoIdSchema.optional().describe('Zoho organization; default ZOHO_ORGANIZATION_ID. Must be in ZOHO_ORGANIZATION_IDS'),
  order_amount: amountText.optional().describe('Amount of the order being placed, in the organization’s base currency'),
  explain: booleanText.optional().describe('true: add a trace of every rule and condition'),
})

export const RiskBodySchema = z.strictObject({
  organization_id: ZohoIdSchema.optional().describe('Zoho organization; default ZOHO_ORGANIZATION_ID. Must be in ZOHO_ORGANIZATION_IDS'),
  order: OrderSchema.optional(),
  explain: z.boolean().optional().describe('true: add a trace of every rule and condition'),
})

const PROBLEM_CODES = Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]

export const ProblemSchema = z
  .object({
    type: z.string().describe('URI of a page explaining the problem: /problems/{code}'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What went wrong in this request'),
    code: z.enum(PROBLEM_CODES).describe('Stable machine-readable code'),
    request_id: z.string().describe('Also in the X-Request-Id header and the log'),
  })
  .meta({ id: 'Problem' })

export type ProblemBody = z.output<typeof ProblemSchema>

/** Problems only one operation answers (by operationId); the others do not list them. */
export const OWN_PROBLEMS: Partial<Record<ProblemCode, string>> = { decision_not_found: 'getDecision' }

/** The problem codes of a status an operation may answer. */
export const problemCodes = (status: number, operationId?: string) =>
  (Object.keys(PROBLEMS) as ProblemCode[]).filter(
    (code) => PROBLEMS[code].status === status && (OWN_PROBLEMS[code] === undefined || OWN_PROBLEMS[code] === operationId),
  )

/** Response entries for the given error statuses, as application/problem+json (of the operation, for its own problems). */
export function problemResponses(...statuses: (number | { operationId: string })[]) {
  const out: Record<number, { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }> = {}
  const operationId = statuses.find((s): s is { operationId: string } => typeof s === 'object')?.operationId
  for (const status of statuses) {
    if (typeof status === 'object') continue
    const codes = problemCodes(status, operationId)
    out[status] = {
      description: codes.map((c) => `\`${c}\``).join(', '),
      content: { 'application/problem+json': { schema: ProblemSchema } },
    }
  }
  return out
}
