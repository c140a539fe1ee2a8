import { writeFile } from 'node:fs/promises'
import { loadConfig } from '../config.js'
import { buildServer } from '../server.js'

/**
 * `npm run openapi`: writes the OpenAPI document the routes generate to openapi/openapi.json.
 * The document does not depend on where Zoho is: placeholder credentials, nothing is called.
 */
export async function openApiDocument(): Promise<string> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    ZOHO_CLIENT_ID: 'openapi',
    ZOHO_CLIENT_SECRET: 'openapi',
    ZOHO_REFRESH_TOKEN: 'openapi',
    ZOHO_ORGANIZATION_ID: '1',
  })
  const server = await buildServer(config)
  try {
    await server.ready()
    return `${JSON.stringify(server.swagger(), null, 2)}\n`
  } finally {
    await server.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(new URL('../../openapi/openapi.json', import.meta.url), await openApiDocument())
  process.stdout.write('wrote openapi/openapi.json\n')
}
