import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ReadinessCheckSchema } from '../plugins/lifecycle.js'

const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'degraded', 'not_ready']),
    checks: z.record(z.string(), ReadinessCheckSchema),
  })
  .meta({ id: 'Readiness' })

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness: the process answers',
        description: 'Always 200 while the process runs. Use /readyz to decide whether to send traffic.',
        tags: ['operations'],
        security: [],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        summary: 'Readiness: rules loaded, Redis reachable or deliberately absent, Zoho configured or sandbox',
        description:
          '200 with status `ready`, or `degraded` when Redis is configured but unreachable (creditgate then serves from its in-process cache and budget), or when the compiled rules disagreed with json-rules-engine on a sampled decision (RULES_VERIFY_SAMPLE; json-rules-engine then decides). 503 `not_ready` while shutting down or without rules.',
        tags: ['operations'],
        security: [],
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (_req, reply) => {
      const checks = await app.lifecycle.checks()
      const values = Object.values(checks)
      const status = values.some((c) => !c.ok) ? 'not_ready' : values.some((c) => c.degraded) ? 'degraded' : 'ready'
      return reply.code(status === 'not_ready' ? 503 : 200).send({ status, checks })
    },
  )

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description:
          'Request durations by route and status; decisions by outcome and rule fired; contact cache hits, misses and stale copies; Zoho calls by outcome and latency; budget refusals; rule reloads; Redis degraded state; the active rules version; process metrics.',
        tags: ['operations'],
        security: [],
        produces: ['text/plain'],
        response: {
          200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: z.string() } } },
        },
      },
    },
    async (_req, reply) => {
      reply.type(app.metrics.contentType)
      return app.metrics.text()
    },
  )
}
