/**
 * Named examples for the OpenAPI document (data): one per outcome of each operation and one per
 * error. Swagger UI shows them in a drop-down; the linter checks they match the schemas.
 * document.ts puts them in the document; examples/ holds them by area.
 */
import { AUTH_OPERATIONS } from './examples/auth.js'
import { CASE_OPERATIONS, CASE_REQUESTS } from './examples/cases.js'
import { DECISION_OPERATIONS } from './examples/decisions.js'
import type { Example } from './examples/example.js'
import { RESERVATION_OPERATIONS, RESERVATION_REQUESTS } from './examples/reservations.js'
import { RULE_OPERATIONS, RULE_REQUESTS } from './examples/rules.js'
import { SERVICE_OPERATIONS, SERVICE_REQUESTS } from './examples/service.js'
import { ZOHO_DATA_OPERATIONS } from './examples/zoho-data.js'

export type { Example } from './examples/example.js'
export { problemExample } from './examples/problems.js'

/** Examples by operationId and status (one media type each). */
export const OPERATION_EXAMPLES: Record<string, Record<string, Record<string, Example>>> = {
  ...DECISION_OPERATIONS,
  ...RESERVATION_OPERATIONS,
  ...RULE_OPERATIONS,
  ...ZOHO_DATA_OPERATIONS,
  ...SERVICE_OPERATIONS,
  ...AUTH_OPERATIONS,
  ...CASE_OPERATIONS,
}

/** Request body examples by operationId and media type. */
export const REQUEST_EXAMPLES: Record<string, Record<string, Record<string, Example>>> = {
  ...CASE_REQUESTS,
  ...RESERVATION_REQUESTS,
  ...RULE_REQUESTS,
  ...SERVICE_REQUESTS,
}
