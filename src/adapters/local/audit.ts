import type { AuditEntry } from '../../domain/audit.js'
import type { AuditStore } from '../../services/audit.js'

/** The trail in this process (the newest `max`): without Redis, and while Redis is down. */
export function createLocalAudit(max = 10_000): AuditStore {
  const entries: AuditEntry[] = []
  let lastMs = 0
  let seq = 0
  const order = (id: string) => id.split('-').map(Number) as [number, number]
  return {
    async append(entry) {
      const ms = Math.max(Date.parse(entry.at), lastMs)
      seq = ms === lastMs ? seq + 1 : 0
      lastMs = ms
      entries.push({ id: `${ms}-${seq}`, ...entry })
      if (entries.length > max) entries.shift()
    },
    async page(before, count) {
      const [bm, bs] = before === undefined ? [Number.POSITIVE_INFINITY, 0] : order(before)
      const out: AuditEntry[] = []
      for (let i = entries.length - 1; i >= 0 && out.length < count; i--) {
        const entry = entries[i] as AuditEntry
        const [m, s] = order(entry.id)
        if (m < bm || (m === bm && s < bs)) out.push(entry)
      }
      return out
    },
  }
}
