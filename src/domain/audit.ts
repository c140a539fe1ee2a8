import { z } from 'zod'
import { ActorSchema } from './actor.js'
import { CASE_EVENTS } from './case.js'

/**
 * The audit trail: what people and order systems did beside asking for decisions — case
 * transitions (a held order opened, released, rejected, expired, re-opened, cleared), cache purges
 * and rule backtests — with who (the person's subject, name and roles, or the key's name), when and
 * why. A case's own history says the same for that case; the trail lists them all, newest first.
 */
export const AUDIT_KINDS = [
  ...CASE_EVENTS.filter((event) => event !== 'updated').map((event) => `case.${event}` as const),
  'cache.purged',
  'rules.backtest',
] as const
export type AuditKind = (typeof AUDIT_KINDS)[number]

export const AuditEntrySchema = z
  .object({
    id: z.string().describe("The entry's position in the trail"),
    at: z.string().describe('When (ISO 8601)'),
    kind: z.enum(AUDIT_KINDS),
    by: z.string().describe('Who: a person by name, an API key by its name, or creditgate (an expiry)'),
    actor: ActorSchema.optional().describe('The person or key with its roles: on releases, rejections, purges and backtests'),
    organization_id: z.string().optional(),
    contact_id: z.string().optional(),
    case_id: z.string().optional(),
    decision_id: z.string().optional().describe('The decision that opened, re-opened or cleared the case'),
    reason: z.string().optional().describe('Why, in words'),
    detail: z.string().optional().describe('What was done: the amount released, what a backtest compared'),
  })
  .meta({ id: 'AuditEntry' })

export type AuditEntry = z.output<typeof AuditEntrySchema>
export type NewAuditEntry = Omit<AuditEntry, 'id'>

/** About how many entries the trail keeps (Redis trims the stream to about this many). */
export const AUDIT_KEPT = 100_000
