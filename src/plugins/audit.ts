import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { createLocalAudit } from '../adapters/local/audit.js'
import { createRedisAudit } from '../adapters/redis/audit.js'
import { type AuditService, createAudit } from '../services/audit.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The audit trail: case transitions, purges and backtests, with who, when and why. */
    audit: AuditService
  }
}

const auditPlugin: FastifyPluginAsync = async (app) => {
  const log = app.log.child({ component: 'audit' })
  const local = createLocalAudit()
  const audit = createAudit(app.shared.store({ local: () => local, redis: (link) => createRedisAudit(link, local) }), (err) =>
    log.warn({ err }, 'recording an audit entry failed'),
  )
  app.decorate('audit', audit)
  app.addHook('onClose', () => audit.flush())
}

export default fp(auditPlugin, { name: 'audit', dependencies: ['redis'] })
