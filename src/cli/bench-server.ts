import { Counter, Histogram } from 'prom-client'
import { openServer } from '../server.js'

/**
 * creditgate as `npm start` runs it, for the bench's cost table only: BENCH_OFF names the
 * production features that have no switch of their own and are turned off here — `metrics`
 * (every prom-client count and observation does nothing) and `history` (decisions are not
 * recorded). The others have their own settings: API_KEYS, RATE_LIMIT_PER_MINUTE=0,
 * LOG_LEVEL=warn (no decision line), RULES_VERIFY_SAMPLE=0, RULES_SHADOW_DIR unset.
 */
const off = new Set((process.env.BENCH_OFF ?? '').split(',').filter(Boolean))
if (off.has('metrics')) {
  Counter.prototype.inc = () => {}
  Histogram.prototype.observe = () => {}
  // Children (labels()) count through the same methods, or a closure of their own (a histogram's).
  const labels = Histogram.prototype.labels
  Histogram.prototype.labels = function (this: Histogram, ...args: unknown[]) {
    return Object.assign((labels as (...a: unknown[]) => object).apply(this, args), { observe: () => {} })
  } as unknown as typeof labels
}
const { server, config } = await openServer()
if (off.has('history')) server.history.observe = () => {}
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)))
await server.listen({ port: config.port, host: config.host })
