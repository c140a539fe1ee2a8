import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { RulesStartupError } from './rules/manager.js'

/** The only file that listens and handles signals. */
try {
  const config = loadConfig()
  const app = await buildApp({ config })
  // SIGTERM/SIGINT drain in-flight requests and close Redis; SIGHUP reloads the rules instead.
  closeWithGrace({ delay: 10_000, logger: app.log, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'shutting down: draining in-flight requests')
    await app.close()
  })
  process.on('SIGHUP', () => {
    app.log.info('SIGHUP: reloading the rules')
    void app.rules.reload('SIGHUP')
  })
  await app.listen({ port: config.port, host: config.host })
} catch (err) {
  if (err instanceof ConfigError || err instanceof RulesStartupError) {
    process.stderr.write(`creditgate: ${err.message}\n`)
    process.exit(1)
  }
  throw err
}
