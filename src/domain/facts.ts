import { z } from 'zod'
import { exactSum } from '../lib/decimal.js'
import { MAX_AMOUNT, type ZohoContact } from './contact.js'
import { type CreditFields, creditDateFacts, type PaymentFacts } from './payments.js'
import type { ReceivablesFor } from './receivables.js'
import { ReferenceSchema } from './reservations.js'

/** An order being placed: the amount in the organization's base currency; currency and reference are only recorded. */
export const OrderSchema = z
  .strictObject({
    amount: z.number().min(0).max(MAX_AMOUNT).describe('Order amount in the organization’s base currency, ≥ 0'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as INR')
      .optional()
      .describe('Informational: logged with the decision. The amount must already be in base currency'),
    reference: ReferenceSchema.optional().describe(
      'Your order reference (1 to 100 characters, no control characters): an allowed order holds its amount under it until Zoho lists the order (README "Reservations")',
    ),
  })
  .meta({ id: 'Order' })

export type Order = z.output<typeof OrderSchema>

/** The facts rules see, except `contact` itself. Documented, one by one, in rules/README.md. */
export const DecisionFactsSchema = z
  .object({
    contact_id: z.string(),
    contact_name: z.string(),
    contact_type: z.string().nullable(),
    status: z.string(),
    currency_code: z.string().nullable(),
    base_currency: z
      .string()
      .nullable()
      .describe('The organization’s base currency, in which every _bcy amount is; null when not read from Zoho (see ORGANIZATIONS_FILE)'),
    outstanding_bcy: z.number(),
    unused_credits_bcy: z.number(),
    credit_limit: z.number().nullable(),
    order_amount: z.number(),
    exposure_bcy: z.number(),
    available_credit_bcy: z.number().nullable(),
    payment_terms: z.number().nullable(),
    contact_age_seconds: z.number(),
    custom_fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    overdue_bcy: z.number().nullable().describe('null when no rule uses the receivables facts'),
    oldest_overdue_days: z.number().int().nullable(),
    overdue_invoices: z.number().int().nullable(),
    overdue_ratio: z.number().nullable(),
    open_orders_bcy: z.number().nullable(),
    reserved_bcy: z.number().nullable().describe('The customer’s other live reservations (allowed orders Zoho does not list yet)'),
    exposure_with_orders_bcy: z.number().nullable(),
    paid_invoices_12m: z.number().int().nullable().describe('null when no rule uses the payment facts'),
    avg_days_to_pay_12m: z.number().nullable(),
    avg_days_late_12m: z.number().nullable(),
    weighted_days_late_12m: z.number().nullable(),
    days_late_trend: z.number().nullable(),
    credit_review_overdue_days: z.number().int().nullable(),
    credit_limit_expired: z.boolean(),
    credit_limit_utilization: z.number().nullable(),
    group_exposure_bcy: z
      .number()
      .nullable()
      // Decisions recorded before the fact existed have none: read as null, never a failed answer.
      .default(null)
      .describe('exposure_bcy plus the linked customers’ outstanding in the group’s other organizations; null when no rule uses it'),
  })
  .meta({ id: 'DecisionFacts' })

export type DecisionFacts = z.output<typeof DecisionFactsSchema>
export type Facts = DecisionFacts & { contact: ZohoContact }

const NO_RECEIVABLES_FACTS = {
  overdue_bcy: null,
  oldest_overdue_days: null,
  overdue_invoices: null,
  overdue_ratio: null,
  open_orders_bcy: null,
  reserved_bcy: null,
  exposure_with_orders_bcy: null,
} as const

const NO_PAYMENTS = {
  paid_invoices_12m: null,
  avg_days_to_pay_12m: null,
  avg_days_late_12m: null,
  weighted_days_late_12m: null,
  days_late_trend: null,
} as const

/** What the payment and credit-date facts are made of. */
export interface Behaviour {
  /** The customer's payment facts; undefined when no rule reads them (they are then null). */
  readonly payments?: PaymentFacts | undefined
  /** Today (YYYY-MM-DD) in the organization's time zone: review and limit dates are compared with it. */
  readonly today: string
  readonly fields?: CreditFields | undefined
  /** The organization's base currency, if known. */
  readonly baseCurrency?: string | null | undefined
  /** The linked customers' outstanding in the group's other organizations, in this one's base currency; undefined when no rule reads group_exposure_bcy. */
  readonly groupOthersBcy?: number | undefined
}

export function buildFacts(
  contact: ZohoContact,
  order: Pick<Order, 'amount'> | undefined,
  contactAgeSeconds: number,
  receivables?: ReceivablesFor | undefined,
  behaviour: Behaviour = { today: '1970-01-01' },
): Facts {
  const outstanding = contact.outstanding_receivable_amount_bcy
  const orderAmount = order?.amount ?? 0
  // Zoho sends 0 or nothing for "no credit limit" (docs/zoho.md): both mean no limit here.
  const creditLimit = contact.credit_limit ? contact.credit_limit : null
  const customFields: Facts['custom_fields'] = {}
  for (const field of contact.custom_fields ?? []) {
    if (field.api_name) customFields[field.api_name] = field.value ?? null
  }
  const owed = receivables ? receivables(outstanding, orderAmount) : NO_RECEIVABLES_FACTS
  // Exact, never rounded: an order a fraction of a cent over the limit is over it.
  const exposure = exactSum(outstanding, orderAmount)
  return {
    contact,
    contact_id: contact.contact_id,
    contact_name: contact.contact_name,
    contact_type: contact.contact_type ?? null,
    status: contact.status,
    currency_code: contact.currency_code ?? null,
    base_currency: behaviour.baseCurrency ?? null,
    outstanding_bcy: outstanding,
    unused_credits_bcy: contact.unused_credits_receivable_amount_bcy ?? 0,
    credit_limit: creditLimit,
    order_amount: orderAmount,
    exposure_bcy: exposure,
    available_credit_bcy: creditLimit === null ? null : exactSum(creditLimit, -outstanding),
    payment_terms: typeof contact.payment_terms === 'number' ? contact.payment_terms : null,
    contact_age_seconds: contactAgeSeconds,
    custom_fields: customFields,
    ...owed,
    ...(behaviour.payments ?? NO_PAYMENTS),
    ...creditDateFacts(contact, behaviour.today, behaviour.fields),
    // Over the exposure with open orders (the receivables facts): null without them or without a limit.
    credit_limit_utilization:
      creditLimit === null || owed.exposure_with_orders_bcy === null
        ? null
        : Math.round((owed.exposure_with_orders_bcy / creditLimit) * 10_000) / 10_000,
    group_exposure_bcy: behaviour.groupOthersBcy === undefined ? null : exactSum(exposure, behaviour.groupOthersBcy),
  }
}
