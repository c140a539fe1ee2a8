/**
 * A contact as the sandbox's List contacts prints it: the list's own fields rather than the whole
 * contact (as Zoho's List contacts does), ids and balances as Get Contact has them,
 * `zcrm_account_id` ("" when not linked to Zoho CRM), and each custom field as a top-level
 * `cf_…` key with its `_unformatted` twin — integrators report both on real listings; the sandbox
 * holds this belief on its own, apart from creditgate's parsing.
 */
const LIST_FIELDS = [
  'contact_id',
  'contact_name',
  'customer_name',
  'company_name',
  'contact_type',
  'status',
  'currency_code',
  'outstanding_receivable_amount',
  'outstanding_receivable_amount_bcy',
  'unused_credits_receivable_amount',
  'unused_credits_receivable_amount_bcy',
  'zcrm_account_id',
  'created_time',
  'last_modified_time',
]

export function listedContact(contact: Record<string, unknown>): Record<string, unknown> {
  const listed: Record<string, unknown> = { customer_name: contact.contact_name }
  for (const field of LIST_FIELDS) if (contact[field] !== undefined) listed[field] = contact[field]
  const custom = Array.isArray(contact.custom_fields) ? (contact.custom_fields as Record<string, unknown>[]) : []
  for (const field of custom) {
    if (typeof field.api_name !== 'string') continue
    listed[field.api_name] = field.value
    listed[`${field.api_name}_unformatted`] = field.value
  }
  return listed
}
