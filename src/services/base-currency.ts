import type { FastifyBaseLogger } from 'fastify'
import type { ZohoOrganization } from '../domain/organization.js'

export interface OrganizationSource {
  fetchOrganization(org: string): Promise<ZohoOrganization>
}

export interface BaseCurrencies {
  /** The organization's base currency as Zoho last said (null: not read yet, or not asked for). */
  of(org: string): string | null
  /** Reads those not known yet, and those read longer ago than `refreshMs`. */
  refresh(): Promise<void>
  close(): void
}

/**
 * Each organization's base currency, read from Zoho's organization endpoint in the background
 * (through the organization's budget, as a background call) and kept in this process: read at
 * start, retried every `retryMs` until Zoho answers, re-read every `refreshMs`. A decision never
 * waits for it: until it is known, decisions show `base_currency: null`.
 */
export function createBaseCurrencies(options: {
  source: OrganizationSource
  organizations: readonly string[]
  log: FastifyBaseLogger
  refreshMs?: number
  retryMs?: number
  now?: () => number
}): BaseCurrencies {
  const refreshMs = options.refreshMs ?? 86_400_000
  const clock = options.now ?? Date.now
  const known = new Map<string, { code: string; atMs: number }>()
  let running: Promise<void> | undefined
  const readAll = async () => {
    for (const org of options.organizations) {
      const had = known.get(org)
      if (had && clock() - had.atMs < refreshMs) continue
      try {
        const { currency_code } = await options.source.fetchOrganization(org)
        if (had?.code !== currency_code) options.log.info({ organization_id: org, base_currency: currency_code }, 'base currency read')
        known.set(org, { code: currency_code, atMs: clock() })
      } catch (err) {
        options.log.warn(
          { err, organization_id: org },
          'the organization’s base currency could not be read; decisions show none until it is',
        )
      }
    }
  }
  const refresh = () => {
    running ??= readAll().finally(() => {
      running = undefined
    })
    return running
  }
  const timer = setInterval(() => void refresh(), options.retryMs ?? 60_000)
  timer.unref()
  return { of: (org) => known.get(org)?.code ?? null, refresh, close: () => clearInterval(timer) }
}
