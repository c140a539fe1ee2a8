import closeWithGrace from 'close-with-grace'
import { buildApp, StartupError } from './app.js'
import { ConfigError, loadConfig } from './config.js'

/** The only file that listens and handles signals. */
try {
  const config = loadConfig()
  const app = await buildApp({ config })
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'shutting down: draining in-flight requests')
    await app.close()
  })
  await app.listen({ port: config.port, host: config.host })
} catch (err) {
  if (err instanceof ConfigError || err instanceof StartupError) {
    process.stderr.write(`creditgate: ${err.message}\n`)
    process.exit(1)
  }
  throw err
}
