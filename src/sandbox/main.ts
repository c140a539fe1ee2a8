import { z } from 'zod'
import { SAMPLE_CONTACTS, SANDBOX_CREDENTIALS } from './contacts.js'
import { createSandbox } from './sandbox.js'

/** `npm run sandbox`: the Zoho Books sandbox on its own (SANDBOX_PORT, SANDBOX_HOST). */
const env = z
  .object({
    SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(4555),
    SANDBOX_HOST: z.string().default('127.0.0.1'),
  })
  .safeParse(process.env)
if (!env.success) {
  process.stderr.write(`invalid configuration: ${String(env.error.issues[0]?.path[0])} ${env.error.issues[0]?.message}\n`)
  process.exit(1)
}
const sandbox = createSandbox({ logger: { level: 'info' } as never })
const url = await sandbox.listen(env.data.SANDBOX_PORT, env.data.SANDBOX_HOST)
sandbox.app.log.info(
  {
    ZOHO_ACCOUNTS_URL: url,
    ZOHO_API_BASE_URL: `${url}/books/v3`,
    ZOHO_CLIENT_ID: SANDBOX_CREDENTIALS.clientId,
    contacts: SAMPLE_CONTACTS.map((c) => `${c.id} ${c.shows}`),
  },
  'zoho books sandbox listening',
)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sandbox.close().then(() => process.exit(0))
  })
}
