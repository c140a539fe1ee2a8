import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { z } from 'zod'

/** One part of readiness: whether it serves, whether as designed, and in words. */
export const ReadinessCheckSchema = z.object({
  ok: z.boolean(),
  degraded: z.boolean().optional().describe('Serving, but not as designed (e.g. Redis down: in-process fallback)'),
  detail: z.string(),
})
export type ReadinessCheck = z.output<typeof ReadinessCheckSchema>

/**
 * Readiness and shutdown: each plugin adds the check of what it owns; /readyz asks them all.
 * While shutting down, answers ask clients to close their connections.
 */
export interface Lifecycle {
  addCheck(name: string, check: () => ReadinessCheck | Promise<ReadinessCheck>): void
  checks(): Promise<Record<string, ReadinessCheck>>
  /** From now on /readyz answers 503 (a signal came; the listener closes after SHUTDOWN_DELAY_MS). */
  shutDown(): void
  readonly shuttingDown: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle
  }
}

const lifecyclePlugin: FastifyPluginAsync = async (app) => {
  const registered = new Map<string, () => ReadinessCheck | Promise<ReadinessCheck>>()
  let shuttingDown = false
  app.decorate('lifecycle', {
    addCheck: (name, check) => {
      registered.set(name, check)
    },
    async checks() {
      const out: Record<string, ReadinessCheck> = {}
      for (const [name, check] of registered) out[name] = await check()
      if (shuttingDown) out.shutdown = { ok: false, detail: 'shutting down' }
      return out
    },
    shutDown() {
      shuttingDown = true
    },
    get shuttingDown() {
      return shuttingDown
    },
  })
  // Shutting down: requests in flight finish, and their keep-alive connections close after them.
  app.addHook('preClose', async () => {
    shuttingDown = true
  })
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (shuttingDown) reply.header('connection', 'close')
    done(null, payload)
  })
}

export default fp(lifecyclePlugin, { name: 'lifecycle' })
