/**
 * The coded error catalogue. Every error a caller can see is one of these, rendered as
 * application/problem+json by the single error handler (plugins/errors.ts). `cause` and `fix` feed the
 * problem pages served under /problems/{code}.
 */
export const PROBLEMS = {
  invalid_request: {
    status: 400,
    title: 'Invalid request',
    cause: 'A query parameter, header or body field is missing, of the wrong type, out of range, or not allowed.',
    fix: 'Read `detail`: it names the field. Amounts are numbers ≥ 0 in the base currency; unknown fields are rejected so that a typo never goes unnoticed.',
  },
  invalid_contact_id: {
    status: 400,
    title: 'Invalid contact id',
    cause: 'The contact id in the path is not 1 to 19 decimal digits. Zoho was not called.',
    fix: 'Send the Zoho Books `contact_id` exactly as Zoho returns it, as a string of digits (it can exceed 2^53: never pass it through a float).',
  },
  unauthorized: {
    status: 401,
    title: 'Unauthorized',
    cause: 'No API key, an unknown API key, or (webhooks) a wrong shared secret.',
    fix: 'Send `Authorization: Bearer <key>` or `X-API-Key: <key>` with a key from API_KEYS (ADMIN_API_KEYS for admin routes).',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    cause: 'The key is valid but may not use this route, the organization is not in ZOHO_ORGANIZATION_IDS, or the feature is disabled.',
    fix: 'Use an admin key for admin routes, ask for an allowed organization, or enable the feature (ADMIN_API_KEYS, WEBHOOK_SECRET).',
  },
  not_found: {
    status: 404,
    title: 'Not found',
    cause: 'No route matches this method and path.',
    fix: 'See /docs for the routes creditgate serves.',
  },
  contact_not_found: {
    status: 404,
    title: 'Contact not found',
    cause: 'Zoho Books answered that the contact does not exist in this organization (Zoho code 1002 or 2), or it was deleted.',
    fix: 'Check the contact id and the organization_id. A not-found answer is cached briefly; purge it with DELETE /contacts/{id}/cache after creating the contact.',
  },
  decision_not_found: {
    status: 404,
    title: 'Decision not found',
    cause:
      'No decision with this id is kept for this API key: it was never made, it was made for another key, or it has left the history (DECISION_HISTORY_MAX per organization).',
    fix: 'Use the decision_id from the answer, with the key that asked for it (or an admin key).',
  },
  case_not_found: {
    status: 404,
    title: 'Case not found',
    cause: 'No credit case with this id is visible to this API key: it was never opened, or another caller key opened it.',
    fix: 'Use the case_id (or status_url) from the decision answer, with the key whose order opened it (or a staff key).',
  },
  case_conflict: {
    status: 409,
    title: 'Case conflict',
    cause:
      'The case is not open (already released, rejected or expired), or one of its reasons is a rule marked `"releasable": false` (a forced hold such as a manual credit hold): no person can release it.',
    fix: 'Read `detail`: it names the state or the rule. A forced hold ends when its cause ends in Zoho Books; the next decision for the order then decides again.',
  },
  reservation_not_found: {
    status: 404,
    title: 'Reservation not found',
    cause:
      'No live reservation with this reference is kept for this API key in the organization: it was never made (the order was not allowed, or carried no reference), it was made by another key, it ended (expired, or cancelled), or the reference was reused for another customer since.',
    fix: 'Cancel with the reference you sent in `order.reference`, with the key that asked for the decision (or an admin key), in the same organization_id.',
  },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed',
    cause: 'The route exists but not with this HTTP method.',
    fix: 'See /docs for the methods each route accepts.',
  },
  request_timeout: {
    status: 408,
    title: 'Request timeout',
    cause: 'The request did not arrive completely in time.',
    fix: 'Send the whole request at once; check proxies between you and creditgate.',
  },
  payload_too_large: {
    status: 413,
    title: 'Payload too large',
    cause: 'The request body is larger than creditgate accepts.',
    fix: 'Send only the documented fields; bodies are small JSON documents.',
  },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported media type',
    cause: 'The body is not sent as application/json (or, for webhooks, form data).',
    fix: 'Set `Content-Type: application/json` and send JSON.',
  },
  invalid_rules: {
    status: 422,
    title: 'Invalid rules',
    cause: 'The candidate rule set sent with the request does not validate.',
    fix: 'Check it with POST /rules/validate, which lists every error with its file and JSON path.',
  },
  headers_too_large: {
    status: 431,
    title: 'Request headers too large',
    cause: 'The request headers are larger than the server accepts.',
    fix: 'Send only the headers creditgate needs: an API key and a content type.',
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    cause:
      "This API key sent more requests than its per-minute allowance; or, with two or more caller keys, it started more than its fair part of the organization's Zoho calls this minute while the last `ZOHO_CALLER_RESERVE` calls are kept for other callers; or this address presented more than 10 wrong or missing keys in a minute (a valid key is never refused for that).",
    fix: 'Wait for the number of seconds in `Retry-After` before retrying; cache decisions on your side where you can.',
  },
  internal_error: {
    status: 500,
    title: 'Internal error',
    cause: 'creditgate failed unexpectedly; the details are in its log under the request_id.',
    fix: 'Retry once; if it persists, give the request_id to the operators.',
  },
  evaluation_failed: {
    status: 500,
    title: 'Rule evaluation failed',
    cause: 'The rules could not be evaluated completely, so no decision was made (creditgate never allows on a partial evaluation).',
    fix: 'Retry; if it persists, the operators find the rule and the error in the log under the request_id.',
  },
  upstream_error: {
    status: 502,
    title: 'Zoho Books error',
    cause:
      'Zoho Books refused our credentials (code 57/14 after a token refresh), the organization is not accessible with them (code 6041/6024), or it sent a body that cannot be read.',
    fix: 'Operators: check ZOHO_CLIENT_ID/SECRET/REFRESH_TOKEN, the scope ZohoBooks.contacts.READ, ZOHO_DC and the organization id. Callers: retrying will not help until that is fixed.',
  },
  upstream_unavailable: {
    status: 503,
    title: 'Zoho Books unavailable',
    cause:
      'Zoho Books is down, timed out, rate limited us (code 44/45/1070), or creditgate’s own Zoho budget (ZOHO_REQUESTS_PER_MINUTE, ZOHO_MAX_CONCURRENCY) is spent, and no usable cached copy of the contact exists.',
    fix: 'Retry after the number of seconds in `Retry-After`. Operators may set FAIL_MODE=review to answer `review` instead of 503.',
  },
  not_ready: {
    status: 503,
    title: 'Not ready',
    cause: 'creditgate is starting, shutting down, or has no usable rules.',
    fix: 'Wait and retry; a load balancer should route to another instance.',
  },
} as const satisfies Record<string, { status: number; title: string; cause: string; fix: string }>

export type ProblemCode = keyof typeof PROBLEMS

export const problemType = (code: ProblemCode) => `/problems/${code}`

export class Problem extends Error {
  override name = 'Problem'
  readonly status: number
  readonly code: ProblemCode
  readonly detail: string
  readonly options: { retryAfterSeconds?: number; cause?: unknown }
  constructor(code: ProblemCode, detail: string, options: Problem['options'] = {}) {
    super(detail, { cause: options.cause })
    this.code = code
    this.detail = detail
    this.options = options
    this.status = PROBLEMS[code].status
  }

  get retryAfterSeconds(): number | undefined {
    return this.options.retryAfterSeconds
  }
}

export const isProblem = (err: unknown, code?: ProblemCode): err is Problem =>
  err instanceof Problem && (code === undefined || err.code === code)
