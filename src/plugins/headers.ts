import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { API_HEADERS, helmetHeaders } from '../lib/security-headers.js'
import { utf8Problem } from './errors.js'

/** HTML pages, which get browser security headers. */
const PAGES = /^\/(docs|problems)(\/|$)/
/** The credit console: its own files only, no inline script or style, nothing sent elsewhere. */
const CONSOLE = /^\/console(\/|$|\?)/
const CONSOLE_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
}

/**
 * Every answer carries its request id and security headers, worked out once: JSON answers the
 * few that matter for an API (no sniffing, no framing, no caching of decisions, HTTPS only);
 * pages (Swagger UI, /problems) helmet's full set; the console helmet's set with its own strict policy. Bodies in a charset other than UTF-8 are refused.
 */
const headersPlugin: FastifyPluginAsync = async (app) => {
  const pageHeaders = helmetHeaders({})
  // frame-ancestors 'none' and X-Frame-Options DENY say the same, for browsers old and new: the
  // console (an admin key in the tab) is never framed, by anyone.
  const consoleHeaders = helmetHeaders({ contentSecurityPolicy: CONSOLE_CSP, xFrameOptions: { action: 'deny' } })
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id)
    reply.headers(PAGES.test(req.url) ? pageHeaders : CONSOLE.test(req.url) ? consoleHeaders : API_HEADERS)
    done(utf8Problem(req))
  })
}

export default fp(headersPlugin, { name: 'headers' })
