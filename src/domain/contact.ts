import { z } from 'zod'

/**
 * A Zoho Books contact as creditgate keeps it: every key Zoho sent, ids as strings, and the
 * fields the rules use validated. Zoho writes unset values as "" (even numeric ones), ids as
 * strings of up to 19 digits (its docs print them as numbers), and adds keys over time.
 */
const id = z.union([z.string().regex(/^\d{1,19}$/), z.number().int().nonnegative()]).transform(String)

/** A balance: a finite number (numeric strings accepted). "" is not a balance: it is unreadable. */
const amount = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+(\.\d+)?$/)
      .transform(Number),
  ])
  .pipe(z.number())

/** Like amount, but "" / null / absent mean "not set". */
const optionalAmount = z
  .union([z.literal(''), z.null(), amount])
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
  outstanding_receivable_amount_bcy: amount,
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

export interface Order {
  amount: number
  currency?: string | undefined
  reference?: string | undefined
}

/** The facts rules see, except `contact` itself. Documented, one by one, in rules/README.md. */
export const DecisionFactsSchema = z
  .object({
    contact_id: z.string(),
    contact_name: z.string(),
    contact_type: z.string().nullable(),
    status: z.string(),
    currency_code: z.string().nullable(),
    outstanding_bcy: z.number(),
    unused_credits_bcy: z.number(),
    credit_limit: z.number().nullable(),
    order_amount: z.number(),
    exposure_bcy: z.number(),
    available_credit_bcy: z.number().nullable(),
    payment_terms: z.number().nullable(),
    contact_age_seconds: z.number(),
    custom_fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  })
  .meta({ id: 'DecisionFacts' })

export type DecisionFacts = z.output<typeof DecisionFactsSchema>
export type Facts = DecisionFacts & { contact: ZohoContact }

const cents = (n: number) => Math.round(n * 100) / 100

export function buildFacts(contact: ZohoContact, order: Order | undefined, contactAgeSeconds: number): Facts {
  const outstanding = contact.outstanding_receivable_amount_bcy
  const orderAmount = order?.amount ?? 0
  // Zoho sends 0 or nothing for "no credit limit" (ZOHO.md): both mean no limit here.
  const creditLimit = contact.credit_limit ? contact.credit_limit : null
  const customFields: Facts['custom_fields'] = {}
  for (const field of contact.custom_fields ?? []) {
    if (field.api_name) customFields[field.api_name] = field.value ?? null
  }
  return {
    contact,
    contact_id: contact.contact_id,
    contact_name: contact.contact_name,
    contact_type: contact.contact_type ?? null,
    status: contact.status,
    currency_code: contact.currency_code ?? null,
    outstanding_bcy: outstanding,
    unused_credits_bcy: contact.unused_credits_receivable_amount_bcy ?? 0,
    credit_limit: creditLimit,
    order_amount: orderAmount,
    exposure_bcy: cents(outstanding + orderAmount),
    available_credit_bcy: creditLimit === null ? null : cents(creditLimit - outstanding),
    payment_terms: typeof contact.payment_terms === 'number' ? contact.payment_terms : null,
    contact_age_seconds: contactAgeSeconds,
    custom_fields: customFields,
  }
}

const amountFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })

/** 62400 → "62,400.00" */
export const formatAmount = (n: number) => amountFormat.format(n)
