// Heap per customer kept in process (README "Scale"): the built app (npm run build) with REDIS_URL set to a
// private redis-server, N contacts written into its cache, one cached decision each; heap after a full GC.
//   REDIS_URL=redis://127.0.0.1:6399 node --expose-gc docs/decisions/measure/exp12-heap.mjs 100000
import { buildServer } from '../../../dist/server.js'
import { loadConfig } from '../../../dist/config.js'
import { createSandbox } from '../../../dist/sandbox/sandbox.js'
import { zohoContact } from '../../../dist/sandbox/example-contact.js'
import v8 from 'node:v8'
const N = Number(process.argv[2] ?? 20000)
const sandbox = createSandbox({ requestsPerMinute: 1e9, maxConcurrency: 1000 })
await sandbox.listen(0)
const org = sandbox.organizations.get('10234695')
const tpl = org.get('460000000031001')
for (let i = 0; i < N; i++) { const id = `4600001${String(i).padStart(8,'0')}`; org.set(id, { ...tpl, contact_id: id }) }
const env = { ...sandbox.creditgateEnv, REDIS_URL: process.env.REDIS_URL ?? '', API_KEYS: 'shop:scale-key-0123456789abcdef', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent', ZOHO_REQUESTS_PER_MINUTE: '100' }
if (!env.REDIS_URL) delete env.REDIS_URL
const app = await buildServer(loadConfig(env), {})
await app.ready()
const mem = (label) => { globalThis.gc(); const m = process.memoryUsage(); console.log(label, 'heapUsed', (m.heapUsed/2**20).toFixed(1), 'heapTotal', (m.heapTotal/2**20).toFixed(1), 'external', (m.external/2**20).toFixed(1), 'ab', (m.arrayBuffers/2**20).toFixed(1), 'MiB rss', (m.rss/2**20).toFixed(1)) }
mem('start')
// decisions without Zoho: supply cache via the cache port directly
const fetched_at = new Date().toISOString()
const { parseContact } = await import('../../../dist/domain/contact.js')
const { Redis } = await import('ioredis')
const r = new Redis(env.REDIS_URL)
for (let i = 0; i < N; i += 1000) { const p = r.pipeline(); for (let j = i; j < Math.min(N, i + 1000); j++) { const id = `4600001${String(j).padStart(8,'0')}`; p.set(`creditgate:v1:10234695:contact:${id}`, JSON.stringify({ fetched_at, contact: parseContact({ ...tpl, contact_id: id }).contact }), 'EX', 3600) } await p.exec() }
r.disconnect()
mem('filled')
for (let i = 0; i < N; i++) { const r = await app.inject({ url: `/contacts/4600001${String(i).padStart(8,'0')}/risk`, headers: { authorization: 'Bearer scale-key-0123456789abcdef' } }); if (r.statusCode !== 200 && i < 3) console.log(r.statusCode, r.body.slice(0,200)); if ((i + 1) % 25000 === 0) mem(`decided ${i + 1}`) }
mem('decided')
if (process.argv[3]) v8.writeHeapSnapshot(process.argv[3])
await app.close(); await sandbox.close()
