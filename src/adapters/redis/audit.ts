import { AUDIT_KEPT, type AuditEntry } from '../../domain/audit.js'
import type { AuditStore } from '../../services/audit.js'
import { type RedisConnection, viaRedis } from './connection.js'

/** The trail of every organization: one stream (entries are few: people's actions and case transitions). */
export const auditKey = 'creditgate:v1:{audit}:events'

/** The trail in a Redis stream, the newest AUDIT_KEPT or so; in this process while Redis is down. */
export function createRedisAudit(link: RedisConnection, local: AuditStore): AuditStore {
  const { client } = link
  return {
    append: (entry) =>
      viaRedis(
        link,
        async () => {
          await client.xadd(auditKey, 'MAXLEN', '~', AUDIT_KEPT, '*', 'e', JSON.stringify(entry))
        },
        () => local.append(entry),
      ),
    page: (before, count) =>
      viaRedis(
        link,
        async () => {
          const raw = await client.xrevrange(auditKey, before === undefined ? '+' : `(${before}`, '-', 'COUNT', count)
          return raw.map(([id, fields]) => ({ id, ...(JSON.parse(fields[1] as string) as Omit<AuditEntry, 'id'>) }))
        },
        () => local.page(before, count),
      ),
  }
}
