import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client'

/**
 * The service's Prometheus registry. Each plugin defines the metrics of what it owns in it; this
 * one times every request. Each app has its own registry (tests build many apps in one process);
 * the process metrics (CPU, memory, event loop, GC) are collected once per process.
 */
export interface Metrics {
  readonly registry: Registry
  text(): Promise<string>
  readonly contentType: string
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

let processRegistry: Registry | undefined

const metricsPlugin: FastifyPluginAsync = async (app) => {
  processRegistry ??= (() => {
    const registry = new Registry()
    collectDefaultMetrics({ register: registry })
    return registry
  })()
  const registry = new Registry()
  app.decorate('metrics', {
    registry,
    text: async () => (await Registry.merge([processRegistry as Registry, registry])).metrics(),
    contentType: registry.contentType,
  })
  const httpDuration = new Histogram({
    name: 'creditgate_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['route', 'method', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  app.addHook('onResponse', (req, reply, done) => {
    httpDuration.observe(
      { route: req.routeOptions.url ?? 'unknown', method: req.method, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
    done()
  })
}

export default fp(metricsPlugin, { name: 'metrics' })
