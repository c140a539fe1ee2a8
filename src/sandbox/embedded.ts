import { createSandbox } from './sandbox.js'

/**
 * The sandbox started inside creditgate's process (ZOHO_MODE=sandbox, `npm start` without
 * credentials), on a loopback port, and the environment that points creditgate at it.
 */
export async function startEmbeddedSandbox() {
  const sandbox = createSandbox()
  const url = await sandbox.listen(0, '127.0.0.1')
  return { url, env: { ZOHO_MODE: 'sandbox', ...sandbox.creditgateEnv }, close: () => sandbox.close() }
}
