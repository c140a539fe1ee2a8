import type { LoggerOptions } from 'pino'

/** Query parameters whose values never reach a log line (the webhook secret may come as ?secret=). */
const SECRET_QUERY = /([?&](?:secret|token|key|api_key|access_token|refresh_token|client_secret)=)[^&#]*/gi

export const redactUrl = (url: string) => url.replace(SECRET_QUERY, '$1[redacted]')

/**
 * pino options for the service: keys, tokens and secrets are redacted wherever they would
 * appear (headers, URLs, error objects). Tests read every line to prove it.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers["x-webhook-secret"]',
        'req.headers.cookie',
        'headers.authorization',
        '*.access_token',
        '*.refresh_token',
        '*.client_secret',
        '*.token',
        '*.secret',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method: string; url: string; hostname?: string; ip?: string; id?: string }) => ({
        method: req.method,
        url: redactUrl(req.url),
        host: req.hostname,
        remoteAddress: req.ip,
      }),
    },
  }
}
