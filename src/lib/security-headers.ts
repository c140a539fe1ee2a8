import helmet, { type HelmetOptions } from 'helmet'

/**
 * Headers for JSON answers (OWASP REST Security): nothing to sniff, frame or cache, HTTPS only.
 * Decisions in particular must never be served from a proxy's cache.
 */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
})

/**
 * The headers helmet sets, worked out once at start. Running helmet's middleware per request
 * costs more than everything else a cached decision does; its answer never changes.
 * Measured against @fastify/helmet: ../../docs/decisions/003-security-headers.md
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader() {},
  }
  helmet(options)({} as never, response as never, () => {})
  return headers
}
