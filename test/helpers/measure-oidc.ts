// Figures for docs/decisions/011: `npx tsx test/helpers/measure-oidc.ts` (after `npm run build`).
// Verifying a token with the keys held, a request with a key vs a token, a flood of unknown kids.
import { performance } from 'node:perf_hooks'
import { createProvider } from '../../src/adapters/oidc/provider.js'
import { loadConfig } from '../../src/config.js'
import { createSandbox } from '../../src/sandbox/sandbox.js'
import { buildServer } from '../../src/server.js'
import { AUDIENCE, startIdp } from './idp.js'

const closers: (() => unknown)[] = []
const t = { teardown: (fn: () => unknown) => closers.push(fn) }
const idp = await startIdp(t)
const provider = createProvider({ issuer: idp.issuer, audience: AUDIENCE })
await provider.start()
const token = await idp.token('svc-admin')
const N = 5000
for (let i = 0; i < 500; i++) await provider.verify(token)
let start = performance.now()
for (let i = 0; i < N; i++) await provider.verify(token)
const perVerify = ((performance.now() - start) / N) * 1000
provider.stop()

const sandbox = createSandbox()
await sandbox.listen(0)
const KEY = 'ops-key-0123456789abcdef'
const config = loadConfig({
  ...sandbox.creditgateEnv,
  LOG_LEVEL: 'silent',
  ADMIN_API_KEYS: `ops:${KEY}`,
  RATE_LIMIT_PER_MINUTE: '0',
  ...idp.env,
})
const app = await buildServer(config, {})
await app.ready()
while (!app.oidcProvider?.keys) await new Promise((r) => setTimeout(r, 10))
const timeRequests = async (authorization: string) => {
  for (let i = 0; i < 300; i++) await app.inject({ url: '/rules', headers: { authorization } })
  const begin = performance.now()
  for (let i = 0; i < 3000; i++) await app.inject({ url: '/rules', headers: { authorization } })
  return ((performance.now() - begin) / 3000) * 1000
}
const withKey = await timeRequests(`Bearer ${KEY}`)
const withToken = await timeRequests(`Bearer ${token}`)
const before = idp.jwksFetches
const forged = await Promise.all(Array.from({ length: 1000 }, (_, i) => idp.sign({ roles: ['credit-admin'] }, { kid: `unknown-${i}` })))
start = performance.now()
const statuses = await Promise.all(
  forged.map((f, i) =>
    app.inject({ url: '/rules', remoteAddress: `10.8.${i >> 8}.${i & 255}`, headers: { authorization: `Bearer ${f}` } }),
  ),
)
const floodMs = performance.now() - start
const refused = statuses.filter((r) => r.statusCode === 401).length
process.stdout.write(
  `${JSON.stringify({ perVerifyMicroseconds: Math.round(perVerify), requestWithKeyMicroseconds: Math.round(withKey), requestWithTokenMicroseconds: Math.round(withToken), flood: { tokens: 1000, refused401: refused, jwksFetches: idp.jwksFetches - before, ms: Math.round(floodMs) } })}\n`,
)
await app.close()
await sandbox.close()
for (const close of closers) await close()
