import { PROBLEMS, type ProblemCode, problemType } from './errors.js'

/**
 * Named examples for the OpenAPI document: one per outcome of each operation and one per error.
 * Swagger UI shows them in a drop-down; the linter checks they match the schemas.
 */

type Example = { summary: string; value: unknown }
type Doc = { paths?: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, unknown> } }
type Operation = {
  operationId?: string
  responses?: Record<string, { content?: Record<string, { examples?: Record<string, Example> }> }>
  requestBody?: { content?: Record<string, { examples?: Record<string, Example> }> }
}

const RULES_VERSION = 'sha256:967be2b864317ef0ddc01cf40998cc4af8dcb84a36b4e7d724af6b311af46804'

const facts = (over: Record<string, unknown>) => ({
  contact_id: '460000000031001',
  contact_name: 'Bright Foods',
  contact_type: 'customer',
  status: 'active',
  currency_code: 'INR',
  outstanding_bcy: 12000,
  unused_credits_bcy: 0,
  credit_limit: null,
  order_amount: 0,
  exposure_bcy: 12000,
  available_credit_bcy: null,
  payment_terms: 30,
  contact_age_seconds: 42,
  custom_fields: {},
  ...over,
})

const decision = (over: Record<string, unknown>) => ({
  decision_id: '0f8c2a4e-5b1d-4c7a-9e3f-2d6b8a1c4e70',
  decision: 'allow',
  contact_id: '460000000031001',
  organization_id: '10234695',
  reasons: [],
  alerts: [],
  facts: facts({}),
  rules_version: RULES_VERSION,
  contact: { source: 'cache', fetched_at: '2026-11-24T10:00:00.000Z', age_seconds: 42 },
  evaluated_at: '2026-11-24T10:00:42.120Z',
  ...over,
})

const CREDITS_ALERT = {
  rule: 'apply-unused-credits',
  code: 'APPLY_CREDITS_FIRST',
  message: '1,369.66 of unused credits: apply them before asking for payment',
}

export const DECISION_EXAMPLES: Record<string, Example> = {
  allow: { summary: 'allow: a customer in good standing', value: decision({}) },
  block: {
    summary: 'block: outstanding receivables over 50,000 (with an alert)',
    value: decision({
      decision: 'block',
      contact_id: '460000000026049',
      reasons: [
        {
          rule: 'outstanding-over-50000',
          code: 'OUTSTANDING_OVER_LIMIT',
          severity: 'block',
          message: 'Outstanding receivables 62,400.00 exceed 50,000.00',
        },
      ],
      alerts: [CREDITS_ALERT],
      facts: facts({
        contact_id: '460000000026049',
        contact_name: 'Acme Retail Pvt Ltd',
        outstanding_bcy: 62400,
        unused_credits_bcy: 1369.66,
        order_amount: 1000,
        exposure_bcy: 63400,
      }),
    }),
  },
  review: {
    summary: 'review: Zoho unavailable, no cached copy, FAIL_MODE=review',
    value: decision({
      decision: 'review',
      reasons: [
        {
          rule: 'fail-mode-review',
          code: 'CONTACT_UNAVAILABLE',
          severity: 'review',
          message: 'No contact data: Zoho did not answer after 3 attempts (timed out after 5000 ms). Review the order by hand.',
        },
      ],
      facts: null,
      contact: null,
    }),
  },
  alert: {
    summary: 'allow with an alert: unused credits to apply first',
    value: decision({
      contact_id: '460000000031002',
      alerts: [CREDITS_ALERT],
      facts: facts({
        contact_id: '460000000031002',
        contact_name: 'Cedar Textiles',
        outstanding_bcy: 8000,
        unused_credits_bcy: 1369.66,
        exposure_bcy: 8000,
      }),
    }),
  },
}

const PROBLEM_DETAILS: Record<ProblemCode, string> = {
  invalid_request: 'querystring.order_amount: must be an amount ≥ 0 like 1000 or 1000.50 (no sign, no separators)',
  invalid_contact_id: 'params.contact_id: must be 1 to 19 decimal digits',
  unauthorized: 'send an API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
  forbidden: 'organization 99999 is not one this service may ask about',
  not_found: 'no route for GET /contact/460000000026049/risk',
  contact_not_found: 'contact 460000000099999 does not exist in organization 10234695',
  method_not_allowed: 'use GET or POST',
  payload_too_large: 'Request body is too large',
  unsupported_media_type: 'Unsupported Media Type: text/plain; send application/json',
  invalid_rules: '1 error(s) in the candidate rules: my-rule.json $.conditions.all[0].fact: unknown fact "outstandng_bcy"',
  rate_limited: 'Rate limit exceeded, retry in 1 minute',
  internal_error: 'an unexpected error occurred; the log has the details under this request_id',
  evaluation_failed: 'the rules could not be evaluated completely; no decision was made',
  upstream_error: 'organization 10234695 is not accessible with the configured Zoho credentials (code 6041)',
  upstream_unavailable: 'Zoho did not answer after 3 attempts (timed out after 5000 ms)',
  not_ready: 'shutting down',
}

export function problemExample(code: ProblemCode): Example {
  return {
    summary: `${code}: ${PROBLEMS[code].title}`,
    value: {
      type: problemType(code),
      title: PROBLEMS[code].title,
      status: PROBLEMS[code].status,
      detail: PROBLEM_DETAILS[code],
      code,
      request_id: '5d0c2b7e-3f4a-4e6b-8c1d-9a2f7e6b5c40',
    },
  }
}

/** Extra examples by operationId and status, for operations beyond the risk pair. */
const OPERATION_EXAMPLES: Record<string, Record<string, Record<string, Example>>> = {
  getContactRisk: { '200': DECISION_EXAMPLES },
  postContactRisk: { '200': DECISION_EXAMPLES },
}

const REQUEST_EXAMPLES: Record<string, Record<string, Example>> = {
  postContactRisk: {
    order: {
      summary: 'an order of 6,000.00 with your reference',
      value: { order: { amount: 6000, currency: 'INR', reference: 'SO-1001' } },
    },
    explain: { summary: 'no order, with a trace of every rule', value: { explain: true } },
    organization: { summary: 'a contact of another allowed organization', value: { organization_id: '10234696', order: { amount: 1500 } } },
  },
}

/** Adds the examples and drops component schemas nothing refers to. */
export function addOpenApiExamples<T>(document: T): T {
  const doc = document as Doc
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const extra = OPERATION_EXAMPLES[operation.operationId ?? ''] ?? {}
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (type === 'application/problem+json') {
            const codes = (Object.keys(PROBLEMS) as ProblemCode[]).filter((c) => String(PROBLEMS[c].status) === status)
            media.examples = Object.fromEntries(codes.map((c) => [c, problemExample(c)]))
          } else if (extra[status]) {
            media.examples = extra[status]
          }
        }
      }
      const request = REQUEST_EXAMPLES[operation.operationId ?? '']
      const json = operation.requestBody?.content?.['application/json']
      if (request && json) json.examples = request
    }
  }
  pruneUnusedSchemas(doc)
  return document
}

function pruneUnusedSchemas(doc: Doc): void {
  const schemas = doc.components?.schemas
  if (!schemas) return
  const used = new Set<string>()
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item)
    } else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === '$ref' && typeof child === 'string') {
          const name = child.replace('#/components/schemas/', '')
          if (!used.has(name)) {
            used.add(name)
            visit(schemas[name])
          }
        } else visit(child)
      }
    }
  }
  visit(doc.paths)
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name]
}
