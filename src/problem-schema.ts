import { z } from 'zod'
import { PROBLEMS, type ProblemCode } from './errors.js'

/**
 * The problem+json body every error is rendered as (plugins/errors.ts), and which codes each
 * operation may answer: one zod schema beside the catalogue it describes (errors.ts), so that the
 * error handler, the routes and the OpenAPI examples all take it from below.
 */

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
export const OWN_PROBLEMS: Partial<Record<ProblemCode, readonly string[]>> = {
  decision_not_found: ['getDecision'],
  case_not_found: ['getCase', 'releaseCase', 'rejectCase'],
  case_conflict: ['releaseCase', 'rejectCase'],
  reservation_not_found: ['cancelReservation'],
}

/** The problem codes of a status an operation may answer. */
export const problemCodes = (status: number, operationId?: string) =>
  (Object.keys(PROBLEMS) as ProblemCode[]).filter(
    (code) => PROBLEMS[code].status === status && (OWN_PROBLEMS[code] === undefined || OWN_PROBLEMS[code].includes(operationId as string)),
  )
