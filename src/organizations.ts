import { readFileSync } from 'node:fs'
import { z } from 'zod'

/**
 * Settings per Zoho organization (issue 27): ORGANIZATIONS_FILE, a small JSON file read and
 * validated once at start-up. An organization not in it — or every organization, without the
 * file — uses the environment's settings (ORG_TIME_ZONE, RELEASE_LIMITS, CALLBACK_URLS).
 * A setting given for an organization replaces the environment's for it: release limits and
 * callback targets are never merged with those of the environment.
 * Why replaced, never merged: ../docs/decisions/013-organizations.md
 */

export const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}
export const TIME_ZONE_MESSAGE = 'must be an IANA time zone such as Asia/Kolkata or UTC'

/** A Standard Webhooks secret: whsec_ and 24 to 64 bytes in base64. */
export const webhookSecret = (text: string) => {
  const bytes = /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text.slice(6), 'base64') : undefined
  return bytes && bytes.length >= 24 && bytes.length <= 64 ? text : undefined
}

const KeyName = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a key name, person or role: letters, digits, _ . @ - (at most 64)')

export const OrganizationEntrySchema = z.strictObject({
  organization_id: z.string().regex(/^\d{1,19}$/, 'must be 1 to 19 digits'),
  name: z.string().max(100).optional().describe('What people call it, e.g. "Northwind India"'),
  time_zone: z.string().refine(isTimeZone, TIME_ZONE_MESSAGE).optional().describe('Due dates are calendar dates here (days past due)'),
  release_limits: z
    .record(KeyName, z.number().min(0))
    .optional()
    .describe('The largest order each key name, person or role may release in this organization, in its base currency'),
  callbacks: z
    .record(
      KeyName,
      z.strictObject({
        url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
        secret: z.string().refine((s) => webhookSecret(s) !== undefined, 'must be whsec_ and a base64 secret of 24 to 64 bytes'),
      }),
    )
    .optional()
    .describe('Per caller key name: where the case events of this organization go, and the secret that signs them'),
})

export const OrganizationsFileSchema = z.strictObject({
  $schema: z.string().optional(),
  organizations: z.array(OrganizationEntrySchema).min(1).max(100),
})

export type OrganizationEntry = z.output<typeof OrganizationEntrySchema>
type Named<T> = { readonly name: string } & T

/** What an organization decides and releases with: its entry's settings, else the environment's. */
export interface OrganizationSettings {
  readonly organizationId: string
  readonly name: string | undefined
  readonly timeZone: string
  readonly releaseLimits: readonly Named<{ readonly value: number }>[]
  readonly callbacks: readonly Named<{ readonly url: string; readonly secret: string }>[]
}

export type Defaults = Omit<OrganizationSettings, 'organizationId' | 'name'>

/**
 * Reads and checks ORGANIZATIONS_FILE: the entries by organization id, or one line naming the
 * entry that is wrong (an organization not in `allowed`, a bad time zone, an id listed twice).
 * `allowed` undefined: not known yet (sandbox mode's first reading), not checked.
 */
export function readOrganizationsFile(path: string, allowed: readonly string[] | undefined): OrganizationEntry[] | string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return `ORGANIZATIONS_FILE ${path} cannot be read`
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return `ORGANIZATIONS_FILE ${path} is not valid JSON`
  }
  const parsed = OrganizationsFileSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const path_ = issue?.path ?? []
    const entry = path_[0] === 'organizations' && typeof path_[1] === 'number' ? path_[1] : undefined
    const id =
      entry === undefined ? undefined : (json as { organizations: { organization_id?: unknown }[] }).organizations[entry]?.organization_id
    const where = entry === undefined ? path_.join('.') || '(file)' : `organizations[${entry}]${typeof id === 'string' ? ` (${id})` : ''}`
    const field = entry === undefined ? '' : ` ${path_.slice(2).join('.')}`
    return `ORGANIZATIONS_FILE ${where}${field}: ${issue?.message ?? 'invalid'}`.replace(/ {2,}/g, ' ')
  }
  const entries = new Map<string, OrganizationEntry>()
  for (const [i, entry] of parsed.data.organizations.entries()) {
    const where = `ORGANIZATIONS_FILE organizations[${i}] (${entry.organization_id})`
    if (entries.has(entry.organization_id)) return `${where}: the organization is listed twice`
    if (allowed && !allowed.includes(entry.organization_id)) return `${where}: not in ZOHO_ORGANIZATION_IDS`
    entries.set(entry.organization_id, entry)
  }
  return [...entries.values()]
}

/** The settings an organization works with. */
export function settingsOf(entries: readonly OrganizationEntry[], defaults: Defaults, org: string): OrganizationSettings {
  const entry = entries.find((e) => e.organization_id === org)
  return {
    organizationId: org,
    name: entry?.name,
    timeZone: entry?.time_zone ?? defaults.timeZone,
    releaseLimits: entry?.release_limits
      ? Object.entries(entry.release_limits).map(([name, value]) => ({ name, value }))
      : defaults.releaseLimits,
    callbacks: entry?.callbacks
      ? Object.entries(entry.callbacks).map(([name, { url, secret }]) => ({ name, url, secret }))
      : defaults.callbacks,
  }
}

/** The environment's settings, for organizations without an entry of their own. */
export const defaultsOf = (config: {
  receivables: { timeZone: string }
  cases: { releaseLimits: Defaults['releaseLimits']; callbacks: Defaults['callbacks'] }
}): Defaults => ({ timeZone: config.receivables.timeZone, releaseLimits: config.cases.releaseLimits, callbacks: config.cases.callbacks })

/** A function giving each organization's settings, worked out once per organization. */
export function organizationSettings(config: Parameters<typeof defaultsOf>[0] & { organizations: readonly OrganizationEntry[] }) {
  const known = new Map<string, OrganizationSettings>()
  const defaults = defaultsOf(config)
  return (org: string): OrganizationSettings => {
    let settings = known.get(org)
    if (!settings) {
      settings = settingsOf(config.organizations, defaults, org)
      known.set(org, settings)
    }
    return settings
  }
}
