import { z } from 'zod'
import { exactSum } from '../lib/decimal.js'
import { MAX_AMOUNT, zohoAmount, zohoId } from './contact.js'

/**
 * Group exposure (issue 27): organizations declared as one group in ORGANIZATIONS_FILE add a
 * customer's outstanding receivables across them when the customer is linked — the same Zoho CRM
 * account (`zcrm_account_id`) or the same value of a custom field naming the group customer.
 * Why organization-wide contact listings, not a call per decision: ../../docs/decisions/015-group-exposure.md
 */

const OrganizationId = z.string().regex(/^\d{1,19}$/, 'must be 1 to 19 digits')

export const GroupSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)'),
  organizations: z.array(OrganizationId).min(2, 'a group has at least two organizations').max(20),
  link: z
    .string()
    .regex(/^(zcrm_account_id|cf_[a-z0-9_]{1,100})$/, 'must be "zcrm_account_id" or a custom field’s api name (cf_…)')
    .describe('What links a customer across the organizations: the Zoho CRM account, or a custom field naming the group customer'),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as INR')
    .describe('The currency the rates convert into: 1 unit of an organization’s base currency is `rate` units of it'),
  rates: z
    .record(OrganizationId, z.number().positive().max(1e9))
    .describe('Per organization: how many units of the group currency one unit of its base currency is worth'),
  refresh_seconds: z
    .number()
    .int()
    .min(60)
    .max(86_400)
    .optional()
    .describe('How often each organization’s contacts are listed (default RECEIVABLES_REFRESH_SECONDS)'),
})

export type Group = z.output<typeof GroupSchema>

/** A contact as GET /contacts lists it: the id, the keys a link is read from, and its outstanding (read only for linked contacts). */
export const ListedContactSchema = z.looseObject({
  contact_id: zohoId,
  contact_type: z.string().optional(),
  custom_fields: z.array(z.looseObject({ api_name: z.string().optional(), value: z.unknown().optional() })).optional(),
  custom_field_hash: z.record(z.string(), z.unknown()).optional(),
})

export type ListedContact = z.output<typeof ListedContactSchema>

type Linkable = Record<string, unknown> & {
  custom_fields?: readonly { api_name?: string | undefined; value?: unknown }[] | undefined
  custom_field_hash?: Record<string, unknown> | undefined
}

/**
 * A contact's link value (a fetched or a listed contact): `zcrm_account_id`, or the custom field
 * as a top-level `cf_…` key (listings), in custom_field_hash or in custom_fields; trimmed text,
 * undefined when unset or empty (Zoho writes "" for unset).
 */
export function linkValue(contact: Linkable, link: string): string | undefined {
  const raw =
    link === 'zcrm_account_id'
      ? contact.zcrm_account_id
      : (contact[link] ?? contact.custom_field_hash?.[link] ?? contact.custom_fields?.find((f) => f.api_name === link)?.value)
  const text = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : typeof raw === 'string' ? raw.trim() : ''
  return text === '' ? undefined : text
}

/**
 * Outstanding receivables (base currency) by link value over the listed contacts: linked customers
 * only, several contacts with one link value added up. A linked customer whose outstanding is not
 * a readable amount makes the listing unusable (a string says which): missing is never zero.
 */
export function balancesByLink(contacts: readonly ListedContact[], link: string): Map<string, number> | string {
  const balances = new Map<string, number>()
  for (const contact of contacts) {
    if (contact.contact_type === 'vendor') continue
    const value = linkValue(contact, link)
    if (value === undefined) continue
    const amount = zohoAmount.safeParse(contact.outstanding_receivable_amount_bcy)
    if (!amount.success) return `contact ${contact.contact_id}: outstanding_receivable_amount_bcy is not an amount`
    balances.set(value, exactSum(balances.get(value) ?? 0, amount.data))
  }
  return balances
}

/** An amount in organization `from`'s base currency in organization `to`'s, through the group currency, to the cent. */
export function convert(amount: number, group: Pick<Group, 'rates'>, from: string, to: string): number {
  const rateFrom = group.rates[from] ?? Number.NaN
  const rateTo = group.rates[to] ?? Number.NaN
  const converted = Math.round(((amount * rateFrom) / rateTo) * 100) / 100
  return Math.max(-MAX_AMOUNT, Math.min(MAX_AMOUNT, converted))
}
