import { z } from 'zod'

/**
 * A Zoho Books contact as creditgate keeps it: every key Zoho sent, ids as strings, and the
 * fields the rules use validated. Zoho writes unset values as "" (even numeric ones), ids as
 * strings of up to 19 digits (its docs print them as numbers), and adds keys over time.
 */
const id = z.union([z.string().regex(/^\d{1,19}$/), z.number().int().nonnegative()]).transform(String)

/**
 * The largest balance creditgate reads (±10^15, what an order may be too): every fact computed
 * from amounts — sums, differences, ratios — then stays a finite number.
 */
export const MAX_AMOUNT = 1e15

/** A balance: a finite number (numeric strings accepted). "" is not a balance: it is unreadable. */
export const zohoAmount = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+(\.\d+)?$/)
      .transform(Number),
  ])
  .pipe(z.number().min(-MAX_AMOUNT).max(MAX_AMOUNT))

/** Like amount, but "" / null / absent mean "not set". */
const optionalAmount = z
  .union([z.literal(''), z.null(), zohoAmount])
  .optional()
  .transform((v) => (v === '' || v === null || v === undefined ? null : v))

const customField = z.looseObject({
  api_name: z.string().optional(),
  value: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
})

export const ZohoContactSchema = z.looseObject({
  contact_id: id,
  contact_name: z.string(),
  status: z.string().min(1),
  contact_type: z.string().optional(),
  currency_code: z.string().optional(),
  outstanding_receivable_amount_bcy: zohoAmount,
  unused_credits_receivable_amount_bcy: optionalAmount,
  credit_limit: optionalAmount,
  payment_terms: z.union([z.number(), z.literal('')]).optional(),
  custom_fields: z.array(customField).optional(),
  custom_field_hash: z.record(z.string(), z.unknown()).optional(),
})

export type ZohoContact = z.output<typeof ZohoContactSchema>

/** Quote integer ids Zoho may print as JSON numbers, before JSON.parse can round them. */
const LONG_ID_NUMBER = /("[A-Za-z0-9_]*_id"\s*:\s*)(\d{16,})(?=\s*[,}\]])/g

export function parseZohoJson(text: string): unknown {
  return JSON.parse(text.replace(LONG_ID_NUMBER, '$1"$2"'))
}

export type ContactParse = { ok: true; contact: ZohoContact } | { ok: false; problem: string }

export function parseContact(raw: unknown): ContactParse {
  const result = ZohoContactSchema.safeParse(raw)
  if (result.success) return { ok: true, contact: result.data }
  const issue = result.error.issues[0]
  return { ok: false, problem: `field ${issue?.path.join('.') || 'contact'}: ${issue?.message ?? 'invalid'}` }
}

/** Fields of Zoho's listings (open and paid invoices, sales orders): ids as strings, unset dates as null, rate 1 when unset. */
export const zohoId = z.union([z.string().regex(/^\d{1,19}$/), z.number().int().nonnegative()]).transform(String)
/** Zoho writes unset dates as " " or "". */
export const zohoDate = z
  .union([z.string().regex(/^\d{4}-\d{2}-\d{2}$/), z.literal(''), z.literal(' '), z.null()])
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v : null))
/** 1 for base-currency documents; Zoho may send "" for unset. */
export const zohoRate = z
  .union([z.number().positive().max(MAX_AMOUNT), z.literal('')])
  .optional()
  .transform((v) => (typeof v === 'number' ? v : 1))

const parsedTimes = new WeakMap<object, number>()

/** When a copy of a contact (a cache entry) was fetched, in ms; copies are immutable, so it is parsed once per copy. */
export function fetchedAtMs(entry: { readonly fetched_at: string }): number {
  let ms = parsedTimes.get(entry)
  if (ms === undefined) {
    ms = Date.parse(entry.fetched_at)
    parsedTimes.set(entry, ms)
  }
  return ms
}
