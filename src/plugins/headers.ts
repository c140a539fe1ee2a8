import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { API_HEADERS, helmetHeaders } from '../lib/security-headers.js'
import { utf8Problem } from './errors.js'

/** HTML pages, which get browser security headers. */
const PAGES = /^\/(docs|problems)(\/|$)/

/**
 * Every answer carries its request id and security headers, worked out once: JSON answers the
 * few that matter for an API (no sniffing, no framing, no caching of decisions, HTTPS only);
 * pages (Swagger UI, /problems) helmet's full set. Bodies in a charset other than UTF-8 are refused.
 */
const headersPlugin: FastifyPluginAsync = async (app) => {
  const pageHeaders = helmetHeaders({})
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id)
    reply.headers(PAGES.test(req.url) ? pageHeaders : API_HEADERS)
    done(utf8Problem(req))
  })
}

export default fp(headersPlugin, { name: 'headers' })
