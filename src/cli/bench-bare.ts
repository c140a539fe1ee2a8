import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

/**
 * The benchmark's floor: fastify answering every GET with the same JSON body a cached decision
 * has, doing no work at all. BENCH_BODY_FILE holds the body, PORT the port.
 */
const body = JSON.parse(readFileSync(process.env.BENCH_BODY_FILE as string, 'utf8')) as unknown
const app = Fastify({ logger: false })
app.get('/*', async () => body)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
