import { randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import closeWithGrace from 'close-with-grace'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import pino, { type DestinationStream } from 'pino'
import { type AppDeps, app } from './app.js'
import { type Config, ConfigError, type Env, loadConfig } from './config.js'
import { loggerOptions, RequestLog, stdoutLog } from './lib/logging.js'
import { clientErrorHandler, frameworkErrors } from './plugins/errors.js'
import { RulesStartupError } from './services/rule-sets/manager.js'

export interface ServerOptions {
  deps?: Partial<AppDeps> | undefined
  /** Where log lines go (tests capture them); default stdout. */
  logStream?: DestinationStream | undefined
  /** How long a client may take to send a whole request (default REQUEST_TIMEOUT_MS; tests shorten it). */
  requestTimeoutMs?: number | undefined
  /** How long a plugin may take to start (Fastify's default 10 s; tests on a loaded machine give more). */
  pluginTimeoutMs?: number | undefined
}

/**
 * A request — headers and body — must arrive within this time, or the connection is answered 408
 * and closed: a client dripping a body a byte at a time holds a socket for no longer. 1 MiB (the
 * largest body, a rule set) arrives in it at 35 KB/s. Once a request has arrived, answering it may
 * take longer (a backtest does).
 */
export const REQUEST_TIMEOUT_MS = 30_000
/** The headers alone (Node's default is 60 s); never more than the whole request's time. */
const HEADERS_TIMEOUT_MS = 10_000

/** Fastify as creditgate runs it — logging, request ids, body limits, JSON only — with the app registered. */
export async function buildServer(config: Config, options: ServerOptions = {}): Promise<FastifyInstance> {
  // A turn of the event loop's lines written at once, after the turn (and on exit).
  const logger: FastifyBaseLogger = pino(loggerOptions(config.logLevel), options.logStream ?? stdoutLog())
  const server = Fastify({
    loggerInstance: logger,
    logController: new RequestLog(),
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID()
    },
    // The client's address (throttles, logs, callers without keys) comes from X-Forwarded-For only
    // through the proxies TRUST_PROXY names; by default it is the peer's.
    trustProxy: config.trustProxy === false ? false : [...config.trustProxy],
    bodyLimit: 64 * 1024,
    // Start-up checks every rule set (the shared one and each organization's, fixtures included)
    // one after another: more than fastify's 10 s per plugin with many organizations or a busy host.
    pluginTimeout: options.pluginTimeoutMs ?? 120_000,
    requestTimeout: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    // Node looks for requests past their time every connectionsCheckingInterval (default 30 s).
    http: {
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
      connectionsCheckingInterval: 1000,
    },
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler,
  })
  // JSON only, and UTF-8 only: fastify's default text/plain parser would let a mislabelled body
  // through, and its JSON parser would turn invalid bytes into U+FFFD instead of refusing them.
  server.removeContentTypeParser(['text/plain', 'application/json'])
  const parseJson = server.getDefaultJsonParser('error', 'error')
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  server.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string
    try {
      text = utf8.decode(body as Buffer)
    } catch {
      return done(Object.assign(new Error('the body is not valid UTF-8'), { statusCode: 400 }), undefined)
    }
    parseJson(req, text, done)
  })
  server.setValidatorCompiler(validatorCompiler)
  server.setSerializerCompiler(serializerCompiler)
  await server.register(fp(app), { config, deps: options.deps })
  return server
}

/**
 * The service as `npm start` runs it: configuration from the environment and, in sandbox mode
 * without credentials, the bundled Zoho Books sandbox on a loopback port, which creditgate is then
 * configured against exactly as an operator would configure it against Zoho.
 */
export async function openServer(
  env: Env = process.env,
  options: ServerOptions = {},
): Promise<{ server: FastifyInstance; config: Config }> {
  let config = loadConfig(env)
  if (config.zoho.credentials) return { server: await buildServer(config, options), config }
  const { startEmbeddedSandbox } = await import('./sandbox/embedded.js')
  const sandbox = await startEmbeddedSandbox()
  try {
    // What the environment sets (and not blank) wins: e.g. ZOHO_ORGANIZATION_ID=10234696.
    const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''))
    config = loadConfig({ ...sandbox.env, ...set })
    const server = await buildServer(config, options)
    server.addHook('onClose', () => sandbox.close())
    server.log.warn({ sandbox: sandbox.url }, 'no Zoho credentials configured: using the bundled Zoho Books sandbox')
    return { server, config }
  } catch (err) {
    await sandbox.close()
    throw err
  }
}

/** The only place that listens and handles signals. */
async function main(): Promise<void> {
  try {
    const { server, config } = await openServer()
    // SIGTERM/SIGINT: /readyz says 503 for SHUTDOWN_DELAY_MS while load balancers stop sending,
    // then the listener closes, requests in flight finish and Redis is closed. SIGHUP reloads the rules.
    closeWithGrace({ delay: config.shutdownDelayMs + 10_000, logger: server.log, skip: ['SIGHUP'] }, async ({ signal, err }) => {
      if (err) server.log.error({ err }, 'closing after an error')
      else server.log.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down: not ready, then draining in-flight requests')
      server.lifecycle.shutDown()
      if (!err && config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs))
      await server.close()
    })
    process.on('SIGHUP', () => {
      server.log.info('SIGHUP: reloading the rules')
      void server.rules.reload('SIGHUP')
    })
    await server.listen({ port: config.port, host: config.host })
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RulesStartupError) {
      process.stderr.write(`creditgate: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
