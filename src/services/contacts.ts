import type { FastifyBaseLogger } from 'fastify'
import { fetchedAtMs, type ZohoContact } from '../domain/contact.js'
import type { ContactOrigin } from '../domain/decision.js'
import { isProblem, Problem, type ProblemCode } from '../errors.js'

/** Where contacts come from (Zoho Books). Throws Problem: contact_not_found, upstream_error, upstream_unavailable. */
export interface ContactSource {
  fetchContact(org: string, contactId: string): Promise<ZohoContact>
}

/** What the cache keeps per contact: the contact, or the fact that Zoho said it does not exist. */
export type CacheEntry =
  | { readonly fetched_at: string; readonly contact: ZohoContact }
  | { readonly fetched_at: string; readonly not_found: true }

/** Where contacts are kept between decisions: in this process, or in Redis for every instance. */
export interface ContactCache {
  get(org: string, contactId: string): Promise<CacheEntry | undefined>
  /** Keeps the entry for ttlSeconds (the stale horizon, not the freshness). */
  set(org: string, contactId: string, entry: CacheEntry, ttlSeconds: number): Promise<void>
  delete(org: string, contactId: string): Promise<void>
}

/** What a leader that failed leaves for the instances waiting on it. */
export interface FlightFailure {
  readonly code: ProblemCode
  readonly detail: string
  readonly retryAfterSeconds?: number | undefined
  /** When it failed: followers only believe failures from after they started waiting. */
  readonly at: number
}

export interface Leadership {
  /** Done (the result is in the cache) or failed (followers read the failure). */
  finish(failure?: FlightFailure): Promise<void>
}

/**
 * Single flight across instances: of all instances missing the same contact at once, one leads
 * (and fetches) and the others follow (wait for its result to appear in the cache).
 */
export interface SingleFlight {
  /** Leadership, or undefined when another instance leads. */
  lead(key: string): Promise<Leadership | undefined>
  /** Resolves when the leader of key finishes, or after ms. */
  wait(key: string, ms: number): Promise<void>
  /** The failure a leader left, if any (kept for a few seconds). */
  failure(key: string): Promise<FlightFailure | undefined>
}

export interface LoadedContact {
  readonly contact: ZohoContact
  readonly source: ContactOrigin
  /** ISO 8601, as stored. */
  readonly fetchedAt: string
  readonly fetchedAtMs: number
}

/**
 * Each caller's part of an organization's Zoho calls for contacts it is the first to miss, so that
 * one caller (a bug, a scraper, a hostile key) cannot spend the budget every other caller needs.
 */
export interface CallerShare {
  /** Takes one of the caller's Zoho calls of the minute, or says why not and in how many ms its next one can start. */
  take(org: string, caller: string): Promise<ShareVerdict>
}

/** A caller may start a Zoho call, or not: it has started `used` this minute, its fair part being `fair`. */
export type ShareVerdict = { ok: true } | { ok: false; retryAfterMs: number; used: number; fair: number }

export interface ContactService {
  /** `caller` (a caller key's name) is charged when this look-up starts a Zoho fetch; without one, nobody is. */
  load(org: string, contactId: string, caller?: string): Promise<LoadedContact>
  invalidate(org: string, contactId: string): Promise<void>
  /** Whether the cache holds the contact in the organization (not merely "Zoho said it does not exist"). */
  known(org: string, contactId: string): Promise<boolean>
}

export interface ContactServiceOptions {
  cache: ContactCache
  source: ContactSource
  ttlSeconds: number
  staleTtlSeconds: number
  /** How long "Zoho says it does not exist" is believed. */
  notFoundTtlSeconds?: number
  log: FastifyBaseLogger
  /** Per-caller parts of the budget; without it, callers are not told apart. */
  callerShare?: CallerShare | undefined
  /** Cross-instance single flight (Redis); without it, single flight is per process. */
  flight?: SingleFlight | undefined
  /** How long a follower waits for another instance's fetch. */
  flightWaitMs?: number
  onLookup?: (result: 'hit' | 'miss' | 'stale' | 'not_found') => void
  /** The clock (ms), for ages, fetch times and the follower's deadline. */
  now?: () => number
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
  const now = options.now ?? Date.now
  const flights = new Map<string, Promise<LoadedContact>>()

  const ageMs = (entry: CacheEntry, at: number) => at - fetchedAtMs(entry)
  const fromEntry = (entry: CacheEntry & { contact: ZohoContact }, source: ContactOrigin): LoadedContact => ({
    contact: entry.contact,
    source,
    fetchedAt: entry.fetched_at,
    fetchedAtMs: fetchedAtMs(entry),
  })

  async function fetchAndStore(org: string, contactId: string): Promise<LoadedContact> {
    const fetchedAtMs = now()
    const fetchedAt = new Date(fetchedAtMs).toISOString()
    try {
      const contact = await options.source.fetchContact(org, contactId)
      await options.cache.set(org, contactId, { fetched_at: fetchedAt, contact }, options.staleTtlSeconds)
      return { contact, source: 'zoho', fetchedAt, fetchedAtMs }
    } catch (err) {
      if (isProblem(err, 'contact_not_found')) {
        await options.cache.set(org, contactId, { fetched_at: fetchedAt, not_found: true }, notFoundTtl)
      }
      throw err
    }
  }

  /** A copy another instance stored since `since` (or a fresh one): the flight's result. */
  async function readFilled(org: string, contactId: string, since: number): Promise<LoadedContact | undefined> {
    const entry = await options.cache.get(org, contactId)
    if (!entry) return undefined
    const fetchedAt = fetchedAtMs(entry)
    if (fetchedAt < since - 1000 && now() - fetchedAt >= options.ttlSeconds * 1000) return undefined
    if ('not_found' in entry) throw notFound(org, contactId)
    return fromEntry(entry, 'cache')
  }

  /** One Zoho call for a contact across all instances: lead and fetch, or follow and read. */
  async function fetchShared(org: string, contactId: string): Promise<LoadedContact> {
    const flight = options.flight
    if (!flight) return fetchAndStore(org, contactId)
    const key = `${org}:${contactId}`
    const startedAt = now()
    const deadline = startedAt + (options.flightWaitMs ?? 20_000)
    for (;;) {
      const leadership = await flight.lead(key)
      if (leadership) {
        try {
          const result = (await readFilled(org, contactId, startedAt)) ?? (await fetchAndStore(org, contactId))
          await leadership.finish()
          return result
        } catch (err) {
          const failure = isProblem(err)
            ? { code: err.code, detail: err.detail, retryAfterSeconds: err.retryAfterSeconds, at: now() }
            : undefined
          await leadership.finish(failure)
          throw err
        }
      }
      await flight.wait(key, 250)
      const filled = await readFilled(org, contactId, startedAt)
      if (filled) return filled
      const failure = await flight.failure(key)
      if (failure && failure.at >= startedAt) {
        throw new Problem(failure.code, failure.detail, { retryAfterSeconds: failure.retryAfterSeconds })
      }
      if (now() > deadline) {
        throw new Problem('upstream_unavailable', 'another instance is fetching this contact and has not finished', {
          retryAfterSeconds: 2,
        })
      }
    }
  }

  return {
    async load(org, contactId, caller) {
      const entry = await options.cache.get(org, contactId)
      const lookedAt = now()
      if (entry && ageMs(entry, lookedAt) < options.ttlSeconds * 1000) {
        if ('not_found' in entry) {
          onLookup('not_found')
          throw notFound(org, contactId)
        }
        onLookup('hit')
        return fromEntry(entry, 'cache')
      }
      onLookup('miss')
      const key = `${org}:${contactId}`
      let flight = flights.get(key)
      if (!flight) {
        // Joining a fetch under way costs nothing; starting one costs the caller a part of its share
        // (also when another instance turns out to lead: counted where the look-up began).
        const share = caller === undefined ? undefined : await options.callerShare?.take(org, caller)
        if (share && !share.ok) {
          throw new Problem(
            'rate_limited',
            `this caller started ${share.used} Zoho calls for uncached contacts of organization ${org} in the last minute, its fair part being ${share.fair}; the last calls of the minute are kept for callers under theirs`,
            { retryAfterSeconds: Math.max(1, Math.ceil(share.retryAfterMs / 1000)) },
          )
        }
        flight = flights.get(key)
      }
      if (!flight) {
        flight = fetchShared(org, contactId).finally(() => flights.delete(key))
        flights.set(key, flight)
      }
      try {
        return await flight
      } catch (err) {
        if (
          isProblem(err, 'upstream_unavailable') &&
          entry &&
          'contact' in entry &&
          ageMs(entry, lookedAt) < options.staleTtlSeconds * 1000
        ) {
          onLookup('stale')
          options.log.warn({ org, contactId, fetchedAt: entry.fetched_at, why: err.detail }, 'zoho unavailable; serving a stale contact')
          return fromEntry(entry, 'stale')
        }
        throw err
      }
    },
    async invalidate(org, contactId) {
      await options.cache.delete(org, contactId)
    },
    async known(org, contactId) {
      const entry = await options.cache.get(org, contactId)
      return entry !== undefined && 'contact' in entry
    },
  }
}
