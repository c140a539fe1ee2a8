import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { type Group, GroupSchema } from './domain/group.js'

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
  zoho_requests_per_minute: z
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .describe('Zoho calls a minute this organization may use, 1 to 100 (default ZOHO_REQUESTS_PER_MINUTE)'),
  zoho_max_concurrency: z
    .number()
    .int()
    .min(1)
    .max(10)
    .optional()
    .describe('Zoho calls of this organization in flight at once, 1 to 10 (default ZOHO_MAX_CONCURRENCY)'),
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
  groups: z.array(GroupSchema).max(50).optional().describe('Organizations whose linked customers’ exposure adds up (group_exposure_bcy)'),
})

/** ORGANIZATIONS_FILE as checked: the entries, and the groups (none without the key). */
export interface OrganizationsFile {
  readonly organizations: OrganizationEntry[]
  readonly groups: Group[]
}

export type OrganizationEntry = z.output<typeof OrganizationEntrySchema>
type Named<T> = { readonly name: string } & T

/** What an organization decides and releases with: its entry's settings, else the environment's. */
export interface OrganizationSettings {
  readonly organizationId: string
  readonly name: string | undefined
  readonly timeZone: string
  readonly releaseLimits: readonly Named<{ readonly value: number }>[]
  readonly callbacks: readonly Named<{ readonly url: string; readonly secret: string }>[]
  readonly zoho: ZohoLimits
}

/** An organization's Zoho budget: B calls a minute, calls in flight, and R of the B kept for decisions. */
export interface ZohoLimits {
  readonly requestsPerMinute: number
  readonly maxConcurrency: number
  readonly reserve: number
}

export type Defaults = Omit<OrganizationSettings, 'organizationId' | 'name' | 'zoho'> & {
  /** The environment's budget, and ZOHO_CALLER_RESERVE when it is set (otherwise each organization's ⌈B / 4⌉). */
  readonly zoho: Omit<ZohoLimits, 'reserve'> & { readonly callerReserve: number | undefined }
}

/** The reserve of a budget of B calls a minute: ZOHO_CALLER_RESERVE if set, else ⌈B / 4⌉, always below B. */
export const reserveOf = (requestsPerMinute: number, callerReserve: number | undefined) =>
  callerReserve ?? Math.min(Math.ceil(requestsPerMinute / 4), requestsPerMinute - 1)

/**
 * Reads and checks ORGANIZATIONS_FILE: the entries by organization id, or one line naming the
 * entry that is wrong (an organization not in `allowed`, a bad time zone, an id listed twice).
 * `allowed` undefined: not known yet (sandbox mode's first reading), not checked.
 */
export function readOrganizationsFile(
  path: string,
  allowed: readonly string[] | undefined,
  callerReserve?: number | undefined,
): OrganizationsFile | string {
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
    const list = path_[0] === 'organizations' || path_[0] === 'groups' ? path_[0] : undefined
    const entry = list && typeof path_[1] === 'number' ? path_[1] : undefined
    const named = entry === undefined ? undefined : (json as Record<string, Record<string, unknown>[]>)[list as string]?.[entry]
    const id = list === 'groups' ? named?.id : named?.organization_id
    const where = entry === undefined ? path_.join('.') || '(file)' : `${list}[${entry}]${typeof id === 'string' ? ` (${id})` : ''}`
    const field = entry === undefined ? '' : ` ${path_.slice(2).join('.')}`
    return `ORGANIZATIONS_FILE ${where}${field}: ${issue?.message ?? 'invalid'}`.replace(/ {2,}/g, ' ')
  }
  const entries = new Map<string, OrganizationEntry>()
  for (const [i, entry] of parsed.data.organizations.entries()) {
    const where = `ORGANIZATIONS_FILE organizations[${i}] (${entry.organization_id})`
    if (entries.has(entry.organization_id)) return `${where}: the organization is listed twice`
    if (allowed && !allowed.includes(entry.organization_id)) return `${where}: not in ZOHO_ORGANIZATION_IDS`
    const budget = entry.zoho_requests_per_minute
    if (budget !== undefined && callerReserve !== undefined && callerReserve >= budget) {
      return `${where} zoho_requests_per_minute: ${budget} leaves nothing above ZOHO_CALLER_RESERVE (${callerReserve}) for background refreshes`
    }
    entries.set(entry.organization_id, entry)
  }
  const groups = parsed.data.groups ?? []
  const problem = checkGroups(groups, allowed)
  return problem ?? { organizations: [...entries.values()], groups }
}

/** One line naming the group that is wrong: an organization not allowed or in two groups, a rate missing or extra. */
function checkGroups(groups: readonly Group[], allowed: readonly string[] | undefined): string | undefined {
  const member = new Map<string, string>()
  for (const [i, group] of groups.entries()) {
    const where = `ORGANIZATIONS_FILE groups[${i}] (${group.id})`
    if (groups.findIndex((g) => g.id === group.id) !== i) return `${where}: the group id is used twice`
    for (const org of group.organizations) {
      if (allowed && !allowed.includes(org)) return `${where} organizations: ${org} is not in ZOHO_ORGANIZATION_IDS`
      const other = member.get(org)
      if (other !== undefined) return `${where} organizations: ${org} is already in group ${other}`
      member.set(org, group.id)
      if (group.rates[org] === undefined) return `${where} rates: no rate for ${org}`
    }
    const stray = Object.keys(group.rates).find((org) => !group.organizations.includes(org))
    if (stray) return `${where} rates: ${stray} is not one of the group's organizations`
  }
  return undefined
}

/** The group an organization is in, if any. */
export const groupOf = (groups: readonly Group[], org: string): Group | undefined => groups.find((g) => g.organizations.includes(org))

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
    zoho: zohoLimits(entry, defaults.zoho),
  }
}

/** The organization's Zoho budget: its entry's settings, else the environment's, and the reserve of its own B. */
function zohoLimits(entry: OrganizationEntry | undefined, defaults: Defaults['zoho']): ZohoLimits {
  const requestsPerMinute = entry?.zoho_requests_per_minute ?? defaults.requestsPerMinute
  return {
    requestsPerMinute,
    maxConcurrency: entry?.zoho_max_concurrency ?? defaults.maxConcurrency,
    reserve: reserveOf(requestsPerMinute, defaults.callerReserve),
  }
}

/** The environment's settings, for organizations without an entry of their own. */
export const defaultsOf = (config: {
  receivables: { timeZone: string }
  cases: { releaseLimits: Defaults['releaseLimits']; callbacks: Defaults['callbacks'] }
  zoho: Defaults['zoho']
}): Defaults => ({
  timeZone: config.receivables.timeZone,
  releaseLimits: config.cases.releaseLimits,
  callbacks: config.cases.callbacks,
  zoho: {
    requestsPerMinute: config.zoho.requestsPerMinute,
    maxConcurrency: config.zoho.maxConcurrency,
    callerReserve: config.zoho.callerReserve,
  },
})

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
