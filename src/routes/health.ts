import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

export interface ReadinessCheck {
  readonly ok: boolean
  /** Serving, but not as designed (e.g. Redis down: in-process fallback). */
  readonly degraded?: boolean
  readonly detail: string
}

export interface HealthRouteOptions {
  checks: () => Promise<Record<string, ReadinessCheck>>
  shuttingDown: () => boolean
}

const CheckSchema = z.object({ ok: z.boolean(), degraded: z.boolean().optional(), detail: z.string() })
const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'degraded', 'not_ready']),
    checks: z.record(z.string(), CheckSchema),
  })
  .meta({ id: 'Readiness' })

export const healthRoutes: FastifyPluginAsyncZod<HealthRouteOptions> = async (app, options) => {
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
          '200 with status `ready`, or `degraded` when Redis is configured but unreachable (creditgate then serves from its in-process cache and budget). 503 `not_ready` while shutting down or without rules.',
        tags: ['operations'],
        security: [],
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (_req, reply) => {
      const checks = await options.checks()
      if (options.shuttingDown()) checks.shutdown = { ok: false, detail: 'shutting down' }
      const values = Object.values(checks)
      const status = values.some((c) => !c.ok) ? 'not_ready' : values.some((c) => c.degraded) ? 'degraded' : 'ready'
      return reply.code(status === 'not_ready' ? 503 : 200).send({ status, checks })
    },
  )
}
