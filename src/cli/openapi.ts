import { writeFile } from 'node:fs/promises'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'

/** `npm run openapi`: writes the OpenAPI document the routes generate to openapi/openapi.json. */
export async function openApiDocument(): Promise<string> {
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent' }) })
  try {
    await app.ready()
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(new URL('../../openapi/openapi.json', import.meta.url), await openApiDocument())
  process.stdout.write('wrote openapi/openapi.json\n')
}
