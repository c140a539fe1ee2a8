import type { FastifyBaseLogger } from 'fastify'
import type { CacheEntry, ContactCache } from '../adapters/contact-cache.js'
import type { ContactSource } from '../adapters/zoho-books.js'
import type { ZohoContact } from '../domain/contact.js'
import { isProblem, Problem } from '../errors.js'

export type ContactOrigin = 'zoho' | 'cache' | 'stale'

export interface LoadedContact {
  readonly contact: ZohoContact
  readonly source: ContactOrigin
  readonly fetchedAt: Date
}

export interface ContactService {
  load(org: string, contactId: string): Promise<LoadedContact>
  invalidate(org: string, contactId: string): Promise<void>
}

export interface ContactServiceOptions {
  cache: ContactCache
  source: ContactSource
  ttlSeconds: number
  staleTtlSeconds: number
  /** How long "Zoho says it does not exist" is believed. */
  notFoundTtlSeconds?: number
  log: FastifyBaseLogger
  onLookup?: (result: 'hit' | 'miss' | 'stale' | 'not_found') => void
}

export const NOT_FOUND_TTL_SECONDS = 60

const notFound = (org: string, contactId: string) =>
  new Problem('contact_not_found', `contact ${contactId} does not exist in organization ${org}`)

/**
 * Contacts through the cache: a fresh copy is served as is; otherwise Zoho is asked, once per
 * contact however many requests wait for it; a stale copy is served only when Zoho cannot answer.
 */
export function createContactService(options: ContactServiceOptions): ContactService {
  const notFoundTtl = options.notFoundTtlSeconds ?? NOT_FOUND_TTL_SECONDS
  const onLookup = options.onLookup ?? (() => {})
  const flights = new Map<string, Promise<LoadedContact>>()

  const ageMs = (entry: CacheEntry, now: number) => now - Date.parse(entry.fetched_at)

  async function fetchAndStore(org: string, contactId: string): Promise<LoadedContact> {
    const fetchedAt = new Date()
    try {
      const contact = await options.source.fetchContact(org, contactId)
      await options.cache.set(org, contactId, { fetched_at: fetchedAt.toISOString(), contact }, options.staleTtlSeconds)
      return { contact, source: 'zoho', fetchedAt }
    } catch (err) {
      if (isProblem(err, 'contact_not_found')) {
        await options.cache.set(org, contactId, { fetched_at: fetchedAt.toISOString(), not_found: true }, notFoundTtl)
      }
      throw err
    }
  }

  return {
    async load(org, contactId) {
      const entry = await options.cache.get(org, contactId)
      const now = Date.now()
      if (entry && ageMs(entry, now) < options.ttlSeconds * 1000) {
        if ('not_found' in entry) {
          onLookup('not_found')
          throw notFound(org, contactId)
        }
        onLookup('hit')
        return { contact: entry.contact, source: 'cache', fetchedAt: new Date(entry.fetched_at) }
      }
      onLookup('miss')
      const key = `${org}:${contactId}`
      let flight = flights.get(key)
      if (!flight) {
        flight = fetchAndStore(org, contactId).finally(() => flights.delete(key))
        flights.set(key, flight)
      }
      try {
        return await flight
      } catch (err) {
        if (isProblem(err, 'upstream_unavailable') && entry && 'contact' in entry && ageMs(entry, now) < options.staleTtlSeconds * 1000) {
          onLookup('stale')
          options.log.warn({ org, contactId, fetchedAt: entry.fetched_at, why: err.detail }, 'zoho unavailable; serving a stale contact')
          return { contact: entry.contact, source: 'stale', fetchedAt: new Date(entry.fetched_at) }
        }
        throw err
      }
    },
    async invalidate(org, contactId) {
      await options.cache.delete(org, contactId)
    },
  }
}
