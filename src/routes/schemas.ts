import { z } from 'zod'
import { OrderSchema } from '../domain/facts.js'
import { ProblemSchema, problemCodes } from '../problem-schema.js'

/** Request and error shapes shared by the routes. One zod schema each; OpenAPI is generated. */

/**
 * Ids in their one canonical form, with no leading zero: "0460000000031013" would name the contact
 * 460000000031013 to a backend that reads it as a number, under a cache, receivables and history key
 * of its own. Refused (400) rather than stripped, so that every id creditgate logs and records is
 * the one Zoho answers with.
 */
/** A credit case's id as creditgate makes it (services/cases.ts: "case_" and 24 hex digits). */
export const CaseIdSchema = z
  .string()
  .regex(/^case_[0-9a-f]{24}$/, 'must be a case_id from a decision answer ("case_" and 24 hex digits)')
  .meta({ example: 'case_3f2a9c0d41b7e85a6c1d2e3f' })

/**
 * Text a person types to search by name: 1 to 100 characters, none of them a control character,
 * an angle or curly bracket, a backslash or a bidirectional override (which could disguise a name).
 */
export const SearchTextSchema = z
  .string()
  .trim()
  .regex(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it refuses
    /^[^\u0000-\u001f\u007f-\u009f<>{}\\\u202a-\u202e\u2066-\u2069]{1,100}$/,
    'must be 1 to 100 characters: no control characters, brackets or direction marks',
  )

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

/** A `limit` in a query string: a whole number from 1 to `max` written plainly (no 0x1F, no 1e3), else `fallback`. */
export const limitText = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^[1-9]\d{0,6}$/, `must be a whole number from 1 to ${max}`)
    .transform(Number)
    .pipe(z.number().max(max, `must be at most ${max}`))
    .optional()
    .transform((v) => v ?? fallback)

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
