import { z } from 'zod'

/** Get Organization (GET /organizations/{organization_id}): what creditgate reads of it. */
export const OrganizationSchema = z.looseObject({
  currency_code: z.string().regex(/^[A-Z]{3}$/),
  name: z.string().optional(),
})

export type ZohoOrganization = z.output<typeof OrganizationSchema>
