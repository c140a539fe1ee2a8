import { PROBLEMS, type ProblemCode, problemType } from '../../errors.js'
import type { Example } from './example.js'

const PROBLEM_DETAILS: Record<ProblemCode, string> = {
  invalid_request: 'querystring.order_amount: must be an amount ≥ 0 like 1000 or 1000.50 (no sign, no separators)',
  invalid_contact_id: 'params.contact_id: must be 1 to 19 decimal digits',
  unauthorized: 'send an API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
  forbidden: 'organization 99999 is not one this service may ask about',
  not_found: 'no route for GET /contact/460000000026049/risk',
  contact_not_found: 'contact 460000000099999 does not exist in organization 10234695',
  decision_not_found: 'no decision with this id is kept for this API key',
  case_not_found: 'no case with this id is visible to this API key',
  case_conflict: 'the rule manual-credit-hold is marked "releasable": false: this hold cannot be released',
  reservation_not_found: 'no live reservation with this reference is kept for this API key',
  method_not_allowed: 'PUT is not allowed on /contacts/460000000026049/risk; allowed: GET, HEAD, POST',
  request_timeout: 'the request cannot be read as HTTP/1.1',
  payload_too_large: 'Request body is too large',
  unsupported_media_type: 'Unsupported Media Type: text/plain; send application/json',
  invalid_rules: '1 error(s) in the candidate rules: my-rule.json $.conditions.all[0].fact: unknown fact "outstandng_bcy"',
  headers_too_large: 'the request cannot be read as HTTP/1.1',
  rate_limited: 'more than 3000 requests per minute for this key',
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
