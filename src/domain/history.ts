import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { AlertSchema, CaseLinkSchema, DECISIONS, ReasonSchema, ReleaseSchema } from './decision.js'
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
    case: CaseLinkSchema.optional().describe("The order's credit case, as the answer linked it"),
    release: ReleaseSchema.optional().describe('Allowed by a release: who released it (person or key, with roles), when and why'),
    overridden: z.array(ReasonSchema).optional().describe('With release: the reasons the rules gave, overridden by the release'),
    cut: z
      .object({
        custom_fields: z.number().int().describe('Custom fields left out'),
        texts: z.number().int().describe('Texts shortened'),
        reasons: z.number().int().describe('Reasons and alerts left out (the decision itself is always kept)'),
      })
      .optional()
      .describe('What was left out to keep the record within its bounds (see the README, decision history); absent when nothing was'),
  })
  .meta({ id: 'DecisionRecord' })

export type DecisionRecord = z.output<typeof DecisionRecordSchema>
export type RecordCut = NonNullable<DecisionRecord['cut']>

/** The custom fields the rules read, by API name: a record keeps these whole. */
export type FieldsRead = ReadonlySet<string>

/**
 * How large a record may be. A record is what a backtest and an auditor need: the facts the rules
 * saw, the custom fields they read, who asked and what was answered; what Zoho sends beyond that
 * (a contact may carry hundreds of custom fields of any length) is summarised. Bounded records
 * keep a page of the history, and reading four at once, from stalling the service.
 */
export const RECORD_BOUNDS = {
  /** The largest record, as JSON in UTF-8. */
  bytes: 16 * 1024,
  /** The longest text kept: as long as the longest text a rule file may hold. */
  text: 1000,
  /** Custom fields no rule reads: the first this many are kept, each text shortened to otherText. */
  otherFields: 20,
  otherText: 100,
  /** Reason and alert messages, once a record is over `bytes`. */
  shortText: 100,
} as const

/** Whether JSON fits in RECORD_BOUNDS.bytes of UTF-8 (1 to 3 bytes per UTF-16 unit: most records are settled by their length). */
const fits = (json: string) =>
  json.length * 3 <= RECORD_BOUNDS.bytes || (json.length <= RECORD_BOUNDS.bytes && Buffer.byteLength(json) <= RECORD_BOUNDS.bytes)

type Facts = NonNullable<DecisionRecord['facts']>

/** One way of cutting a record: whether custom fields no rule reads and those the rules read are kept, and how long messages may be. */
interface Cutting {
  readonly others: boolean
  readonly read: boolean
  readonly messages: number
}

const CUTTINGS: readonly Cutting[] = [
  { others: true, read: true, messages: RECORD_BOUNDS.text },
  { others: false, read: true, messages: RECORD_BOUNDS.shortText },
  { others: false, read: false, messages: RECORD_BOUNDS.shortText },
]

function cutRecord(record: DecisionRecord, read: FieldsRead, how: Cutting): { record: DecisionRecord; cut: RecordCut } {
  const { text, otherFields, otherText } = RECORD_BOUNDS
  const cut = { custom_fields: 0, texts: 0, reasons: 0 }
  const short = <T>(value: T, max: number): T => {
    if (typeof value !== 'string' || value.length <= max) return value
    cut.texts++
    return `${value.slice(0, max - 1)}…` as T
  }
  const message = <M extends { message: string }>(m: M): M =>
    m.message.length <= how.messages ? m : { ...m, message: short(m.message, how.messages) }
  let facts: Facts | null = null
  if (record.facts) {
    const customFields: Facts['custom_fields'] = {}
    let others = 0
    for (const [name, value] of Object.entries(record.facts.custom_fields)) {
      if (read.has(name)) {
        if (how.read) customFields[name] = short(value, text)
        else cut.custom_fields++
      } else if (how.others && others < otherFields && name.length <= otherText) {
        customFields[name] = short(value, otherText)
        others++
      } else cut.custom_fields++
    }
    const f = record.facts
    facts = {
      ...f,
      contact_name: short(f.contact_name, text),
      contact_type: short(f.contact_type, text),
      status: short(f.status, text),
      currency_code: short(f.currency_code, text),
      base_currency: short(f.base_currency ?? null, text),
      custom_fields: customFields,
    }
  }
  return { record: { ...record, facts, reasons: record.reasons.map(message), alerts: record.alerts.map(message) }, cut }
}

const anyCut = (cut: RecordCut) => cut.custom_fields + cut.texts + cut.reasons > 0

/**
 * The record as it is kept, as JSON, and what was cut from it (undefined: nothing). In turn, until
 * it fits in RECORD_BOUNDS.bytes: texts over RECORD_BOUNDS.text are shortened and only the first
 * custom fields no rule reads kept, short; then those are left out and messages shortened; then
 * the custom fields the rules read are left out too; then only the reasons, and after them the
 * alerts, that fit are kept, in their order. Ids, caller, order, rules version, the decision and
 * the facts' numbers always stay, and the record says what was cut (`cut`).
 */
export function boundRecord(record: DecisionRecord, read: FieldsRead): { json: string; cut: RecordCut | undefined } {
  let last: { record: DecisionRecord; cut: RecordCut } | undefined
  for (const how of CUTTINGS) {
    last = cutRecord(record, read, how)
    if (anyCut(last.cut)) last.record.cut = last.cut
    const json = JSON.stringify(last.record)
    if (fits(json)) return { json, cut: anyCut(last.cut) ? last.cut : undefined }
  }
  const { record: bare, cut } = last as { record: DecisionRecord; cut: RecordCut }
  // Room for the reasons and alerts that fit, in their order (and for the counts growing a digit or two).
  let room = RECORD_BOUNDS.bytes - 16 - Buffer.byteLength(JSON.stringify({ ...bare, reasons: [], alerts: [], cut }))
  const fit = <M>(list: readonly M[]) =>
    list.filter((item) => {
      const size = Buffer.byteLength(JSON.stringify(item)) + 1
      if (size > room) {
        cut.reasons++
        return false
      }
      room -= size
      return true
    })
  const kept: DecisionRecord = { ...bare, reasons: fit(bare.reasons), alerts: fit(bare.alerts), cut }
  return { json: JSON.stringify(kept), cut }
}

/**
 * A decision id: a UUID (version 7) whose first 48 bits are the millisecond it was made. The
 * history finds a record by an index from the id to its place; the time places the record (at
 * that millisecond or after it, for listings by time) and is where a record written before the
 * index is looked for.
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

/**
 * Milliseconds since the epoch for a TimeSchema text, counted back from `now` when relative. A time
 * before 1970 ("999999d", "1900-01-01") is 1970 itself: nothing is older, and a history position
 * cannot be negative. The latest is 9999-12-31, a valid position too.
 */
export function parseTime(text: string, now: number): number | undefined {
  const ago = /^(\d{1,6})([smhd])$/.exec(text.trim())
  if (ago) return Math.max(0, now - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS])
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined
  const ms = Date.parse(text)
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined
}

/** Orders positions "<ms>-<seq>": negative when a is older. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am - bm || as - bs
}

/** Merges two newest-first pages into one of at most `count`. */
export function mergePages<T extends { readonly id: string }>(a: readonly T[], b: readonly T[], count: number): T[] {
  if (b.length === 0) return a.slice(0, count)
  if (a.length === 0) return b.slice(0, count)
  const out: T[] = []
  let i = 0
  let j = 0
  while (out.length < count && (i < a.length || j < b.length)) {
    const x = a[i]
    const y = b[j]
    if (x && (!y || compareIds(x.id, y.id) >= 0)) {
      out.push(x)
      i++
    } else if (y) {
      out.push(y)
      j++
    }
  }
  return out
}
