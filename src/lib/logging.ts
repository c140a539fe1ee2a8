import { writeSync } from 'node:fs'
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import type { DestinationStream, LoggerOptions } from 'pino'

/** Query parameters whose values never reach a log line (the webhook secret may come as ?secret=). */
const SECRET_NAMES = new Set(['secret', 'token', 'key', 'api_key', 'apikey', 'access_token', 'refresh_token', 'client_secret', 'password'])
/** Routes whose query strings are never logged at all: the webhook's is where its secret travels. */
const UNLOGGED_QUERIES = /^\/webhooks(\/|$)/

const paramName = (raw: string) => {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).trim().toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

/**
 * The URL as a log line may show it: secret-bearing parameters' values redacted, however their
 * names are encoded (`%73ecret` is `secret`), and no query string at all on the webhook.
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('?')
  if (at < 0) return url
  const path = url.slice(0, at)
  if (UNLOGGED_QUERIES.test(path)) return `${path}?[redacted]`
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=', 1)[0] as string
      return SECRET_NAMES.has(paramName(name)) ? `${name}=[redacted]` : pair
    })
  return `${path}?${query.join('&')}`
}

/**
 * pino options for the service. creditgate never logs a key, token or secret itself; these paths
 * are the net under it (headers, URLs). Plain paths, no wildcards: redaction runs on every line.
 * Tests read every line of a full flow to prove nothing slips through.
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
        'headers["x-api-key"]',
        'access_token',
        'refresh_token',
        'client_secret',
        'token',
        'secret',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method: string; url: string; hostname?: string; ip?: string }) => ({
        method: req.method,
        url: redactUrl(req.url),
        host: req.hostname,
        remoteAddress: req.ip,
      }),
    },
  }
}

/**
 * One line per request at info: decisions write the decision line (with latency and caller),
 * everything else "request completed". "incoming request" only at debug.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request')
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // A decision wrote its own line; a wrong key is summed up once per client and minute.
    if ((request.decisionLogged && !error) || request.logQuietly) return
    const line = {
      method: request.method,
      url: redactUrl(request.url),
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
      caller: request.caller,
    }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}

/** What each log writes when the process exits: one listener for them all. */
const atExit = new Set<() => void>()
const PAUSE = new Int32Array(new SharedArrayBuffer(4))

/**
 * Standard output for the log, a turn of the event loop at a time: the lines logged in one turn are
 * written together, synchronously, once the turn is over — one write where pino's asynchronous
 * destination (sonic-boom) measured its whole pending text for every line, half of a decision log
 * line's CPU. Nothing is ever in flight: lines reach stdout in the order they were logged, and those
 * of the last turn are written on exit. A reader that lags by more than the pipe holds makes the
 * turn wait, as Node's own stdout does on a pipe; a reader that is gone (EPIPE) ends the log, not the
 * service.
 */
export function stdoutLog(fd = 1): DestinationStream {
  let lines: string[] = []
  let gone = false
  const flush = () => {
    if (lines.length === 0) return
    const text = lines.join('')
    lines = []
    if (!gone) gone = !writeAll(fd, text)
  }
  if (atExit.size === 0)
    process.once('exit', () => {
      for (const write of atExit) write()
    })
  atExit.add(flush)
  return {
    write(line: string) {
      if (lines.push(line) === 1) setImmediate(flush)
    },
  }
}

/** Writes all of `text`, as sonic-boom's synchronous mode does: on from where a short write stopped, again after 10 ms while a non-blocking pipe is full. False once stdout is closed. */
function writeAll(fd: number, text: string): boolean {
  let left = Buffer.from(text)
  while (left.length > 0) {
    try {
      left = left.subarray(writeSync(fd, left))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EAGAIN' && code !== 'EBUSY') return false
      Atomics.wait(PAUSE, 0, 0, 10)
    }
  }
  return true
}
