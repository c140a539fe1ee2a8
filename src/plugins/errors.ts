import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { isProblem, PROBLEMS, Problem, type ProblemCode, problemType } from '../errors.js'
import { API_HEADERS } from '../lib/security-headers.js'
import type { ProblemBody } from '../problem-schema.js'
import { EvaluationError } from '../rules/semantics.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The problem for a path parameter that is not valid, e.g. invalid_contact_id (default invalid_request). */
    paramsProblem?: ProblemCode
  }
}

interface RoutePath {
  readonly pattern: RegExp
  readonly methods: Set<string>
  /** What the route declares for a path parameter that is not valid. */
  code?: ProblemCode | undefined
}

/** Every route's path pattern, for URL errors that come before routing and for 405s. */
const routePaths = new WeakMap<FastifyInstance, Map<string, RoutePath>>()
const matching = (server: FastifyInstance, path: string) => [...(routePaths.get(server)?.values() ?? [])].find((r) => r.pattern.test(path))

/**
 * The one place errors become answers: every error, whoever throws it, is rendered as
 * application/problem+json from the catalogue in errors.ts. 5xx details go to the log.
 */
const errorsPlugin: FastifyPluginAsync = async (app) => {
  const paths = new Map<string, RoutePath>()
  routePaths.set(app, paths)
  app.addHook('onRoute', (route) => {
    const pattern = route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]*')
    const known = paths.get(route.url) ?? { pattern: new RegExp(`^${pattern}/?$`), methods: new Set<string>() }
    for (const method of [route.method].flat()) known.methods.add(method)
    known.code ??= route.config?.paramsProblem
    paths.set(route.url, known)
  })
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? ''
    const route = matching(app, path)
    if (route) {
      const allow = [...route.methods].sort().join(', ')
      reply.header('allow', allow)
      return sendProblem(reply, new Problem('method_not_allowed', `${req.method} is not allowed on ${path}; allowed: ${allow}`), req.id)
    }
    sendProblem(reply, new Problem('not_found', `no route for ${req.method} ${path}`), req.id)
  })
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const problem = toProblem(err, req.routeOptions.config.paramsProblem)
    if (problem.status >= 500 && problem.code !== 'upstream_unavailable') req.log.error({ err, caller: req.caller }, 'request failed')
    else if (!req.logQuietly) req.log.info({ code: problem.code, detail: problem.detail, caller: req.caller }, 'request refused')
    sendProblem(reply, problem, req.id)
  })
}

export default fp(errorsPlugin, { name: 'errors' })

/**
 * For fastify's own URL errors, which come before routing (bad percent-encoding, an over-long
 * path parameter): the problem the route that path belongs to declares for its parameters.
 */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const code = matching(req.server, req.url.split('?')[0] ?? '')?.code ?? 'invalid_request'
  sendProblem(reply, new Problem(code, `the URL cannot be read: ${err.message.slice(0, 200)}`), req.id)
}

/**
 * What Node's HTTP parser refuses before fastify sees a request (control bytes in a header, two
 * Content-Lengths, a body longer than declared, headers too large, a timeout): problem+json too,
 * with a request id and the API's security headers, and the connection closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const code: ProblemCode =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'request_timeout'
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? 'headers_too_large'
        : 'invalid_request'
  const requestId = randomUUID()
  const body = JSON.stringify(problemBody(new Problem(code, 'the request cannot be read as HTTP/1.1'), requestId))
  const headers = {
    ...API_HEADERS,
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
    connection: 'close',
  }
  if (socket.writable) {
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
    socket.write(`HTTP/1.1 ${PROBLEMS[code].status} ${PROBLEMS[code].title}\r\n${lines.join('\r\n')}\r\n\r\n${body}`)
  }
  socket.destroy(err)
}

/** Bodies must be UTF-8 (JSON's only encoding); a declared other charset is refused. */
export function utf8Problem(req: FastifyRequest): Problem | undefined {
  const type = req.headers['content-type']
  const charset = type ? /;\s*charset="?([^";]+)"?/i.exec(type)?.[1] : undefined
  if (charset && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
    return new Problem('unsupported_media_type', `charset ${charset} is not supported: send UTF-8`)
  }
  return undefined
}

const problemBody = (problem: Problem, requestId: string): ProblemBody => ({
  type: problemType(problem.code),
  title: PROBLEMS[problem.code].title,
  status: problem.status,
  detail: problem.detail,
  code: problem.code,
  request_id: requestId,
})

export function sendProblem(reply: FastifyReply, problem: Problem, requestId: string): void {
  const body = problemBody(problem, requestId)
  reply.header('x-request-id', requestId)
  if (problem.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.retryAfterSeconds))
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer')
  // Answered before the body arrived (a refused key, a wrong type): the rest of it is not waited
  // for, and a client dripping it keeps no socket.
  if (reply.request.raw.complete === false) reply.header('connection', 'close')
  // A string body skips the response schemas: an error answer can never fail serialization.
  reply.code(problem.status).type('application/problem+json').send(JSON.stringify(body))
}

const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
}

/** Everything a handler can throw, as one of the catalogue's problems. */
export function toProblem(err: FastifyError, paramsProblem: ProblemCode = 'invalid_request'): Problem {
  if (isProblem(err)) return err
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = err.validationContext ?? 'request'
    const first = err.validation[0]
    const field = [context, ...(first?.instancePath ?? '').split('/').filter(Boolean)].join('.')
    const detail =
      first?.message?.endsWith('received null') && field === 'body'
        ? 'body: send a JSON object'
        : `${field}: ${first?.message ?? 'invalid'}`
    return new Problem(context === 'params' ? paramsProblem : 'invalid_request', detail)
  }
  if (err instanceof EvaluationError) {
    return new Problem('evaluation_failed', 'the rules could not be evaluated completely; no decision was made', { cause: err })
  }
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined
  if (mapped) return new Problem(mapped, err.message)
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new Problem('invalid_request', err.message)
  return new Problem('internal_error', 'an unexpected error occurred; the log has the details under this request_id', { cause: err })
}
