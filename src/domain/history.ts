import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { AlertSchema, DECISIONS, ReasonSchema } from './decision.js'
import { DecisionFactsSchema, OrderSchema } from './facts.js'

/**
 * A decision as the history keeps it: what the decision log line holds (the facts as logged,
 * never the raw Zoho contact), who asked, and what was answered.
 */
export const DecisionRecordSchema = z
  .object({
    decision_id: z.string(),
    organization_id: z.string(),
    contact_id: z.string(),
    caller: z.string().describe('The name of the API key that asked (never the key); without API keys, ip: and its address'),
    order: OrderSchema.nullable().describe('The order sent with the request; null when none'),
    facts: DecisionFactsSchema.nullable().describe('The facts the rules saw; null for a FAIL_MODE=review answer without contact data'),
    rules_version: z.string(),
    decision: z.enum(DECISIONS),
    reasons: z.array(ReasonSchema),
    alerts: z.array(AlertSchema),
    evaluated_at: z.string(),
  })
  .meta({ id: 'DecisionRecord' })

export type DecisionRecord = z.output<typeof DecisionRecordSchema>

/**
 * A decision id: a UUID (version 7) whose first 48 bits are the millisecond it was made, so that
 * the history finds its entry from the id alone (entries are stored under that millisecond).
 */
export function newDecisionId(nowMs: number): string {
  const random = randomUUID().replaceAll('-', '')
  const hex = `${Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12)}7${random.slice(13)}`
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const DECISION_ID = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The millisecond a decision id was made in, or undefined for an id creditgate did not make. */
export function decisionTime(id: string): number | undefined {
  const m = DECISION_ID.exec(id)
  return m ? Number.parseInt(`${m[1]}${m[2]}`, 16) : undefined
}

/** Relative ("24h", "30m", "7d") or absolute (ISO 8601) times, as the history's filters take them. */
export const TimeSchema = z
  .string()
  .max(40)
  .refine((text) => parseTime(text, 0) !== undefined, 'a time such as 2026-11-25T12:00:00Z, or how long ago: 30m, 24h, 7d')
  .describe('An ISO 8601 time, or how long ago: e.g. 30m, 24h, 7d')

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** Milliseconds since the epoch for a TimeSchema text, counted back from `now` when relative. */
export function parseTime(text: string, now: number): number | undefined {
  const ago = /^(\d{1,6})([smhd])$/.exec(text.trim())
  if (ago) return now - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS]
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined
  const ms = Date.parse(text)
  return Number.isFinite(ms) ? ms : undefined
}
