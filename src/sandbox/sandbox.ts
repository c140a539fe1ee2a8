import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyReply } from 'fastify'
import {
  type Documents,
  listedSalesOrder,
  SANDBOX_CREDENTIALS,
  SANDBOX_ORGANIZATION_ID,
  SANDBOX_ORGANIZATION_PROFILES,
  SANDBOX_SECOND_ORGANIZATION_ID,
  sampleDocuments,
  sampleOrganizations,
} from './contacts.js'
import { registerListings } from './listings.js'
import type { ContactFault, Sandbox, SandboxOptions, SandboxStats } from './types.js'

export type { ContactFault, Sandbox, SandboxOptions, SandboxStats, TokenFault } from './types.js'

/** Zoho's own limits, as the sandbox enforces them (docs/zoho.md), independent of what creditgate believes. */
const MINTS_PER_WINDOW = 10
const MINT_WINDOW_MS = 10 * 60_000
const NOT_AUTHORIZED = { code: 57, message: 'You are not authorized to perform this operation' }

/**
 * A Zoho Books stand-in that behaves like Zoho for the two calls creditgate makes: the OAuth
 * refresh-token grant and Get Contact. Same status codes, error codes, string ids and "" fields;
 * Zoho's limits (100 calls/minute and 10 in flight per organization, 10 token mints per 10
 * minutes); and faults a test can inject.
 */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const organizations = options.organizations ?? sampleOrganizations()
  const documents = options.documents ?? (options.organizations ? new Map<string, Documents>() : sampleDocuments(Date.now()))
  const credentials = options.credentials ?? SANDBOX_CREDENTIALS
  const tokenTtl = options.tokenTtlSeconds ?? 3600
  const perMinute = options.requestsPerMinute ?? 100
  const maxConcurrency = options.maxConcurrency ?? 10
  const mintsPerWindow = options.mintsPerWindow ?? MINTS_PER_WINDOW
  const tokens = new Map<string, number>()
  const issuedTokens: string[] = []
  const mints: number[] = []
  const calls = new Map<string, number[]>()
  const inFlight = new Map<string, number>()
  const pending = new Set<FastifyReply>()
  const stats: SandboxStats = {
    tokenCalls: 0,
    contactCalls: 0,
    organizationCalls: 0,
    byContact: new Map(),
    byStatus: new Map(),
    maxInFlight: 0,
    listCalls: 0,
    byList: new Map(),
    listRequests: [],
  }
  const faults: Sandbox['faults'] = { contact: [], list: [], token: [], latencyMs: 0, down: false }
  let baseUrl = ''
  let held: Promise<void> | undefined

  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true })
  app.register(formbody)
  app.addHook('onSend', async (_req, reply, payload) => {
    stats.byStatus.set(reply.statusCode, (stats.byStatus.get(reply.statusCode) ?? 0) + 1)
    return payload
  })

  app.post('/oauth/v2/token', async (req, reply) => {
    stats.tokenCalls++
    const fault = faults.token.shift()
    if (fault) return reply.code(fault.status ?? 200).send(fault.body)
    const params = { ...(req.query as Record<string, string>), ...((req.body as Record<string, string> | undefined) ?? {}) }
    if (params.grant_type !== 'refresh_token') return { error: 'unsupported_grant_type' }
    if (params.client_id !== credentials.clientId || params.client_secret !== credentials.clientSecret) {
      return { error: 'invalid_client' }
    }
    if (params.refresh_token !== credentials.refreshToken) return { error: 'invalid_code' }
    const now = Date.now()
    while (mints.length > 0 && (mints[0] as number) <= now - MINT_WINDOW_MS) mints.shift()
    if (mints.length >= mintsPerWindow) {
      return {
        error: 'Access Denied',
        error_description: 'You have made too many requests continuously. Please try again after some time.',
      }
    }
    mints.push(now)
    const token = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`
    tokens.set(token, now + tokenTtl * 1000)
    issuedTokens.push(token)
    return { access_token: token, api_domain: baseUrl, token_type: 'Bearer', expires_in: tokenTtl }
  })

  /** Counts a call in flight for the organization around `answer`, with the injected latency and hold. */
  async function inFlightFor<T>(org: string, answer: (running: number) => Promise<T>): Promise<T> {
    const running = (inFlight.get(org) ?? 0) + 1
    inFlight.set(org, running)
    stats.maxInFlight = Math.max(stats.maxInFlight, running)
    try {
      if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs))
      await held
      return await answer(running)
    } finally {
      inFlight.set(org, (inFlight.get(org) ?? 1) - 1)
    }
  }

  /** An injected fault, if one is queued: the answer is sent (or withheld) here. */
  function injected(queue: ContactFault[], reply: FastifyReply): FastifyReply | Promise<never> | undefined {
    const fault = queue.shift()
    if (!fault) return undefined
    if ('hang' in fault) {
      pending.add(reply)
      return new Promise(() => {})
    }
    if ('destroy' in fault) {
      reply.raw.destroy()
      return reply
    }
    return reply
      .code(fault.status)
      .headers(fault.headers ?? {})
      .type('application/json;charset=UTF-8')
      .send(typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body ?? { code: 1000, message: 'Internal Error' }))
  }

  /** What Zoho checks before any answer: up, the token, 100 a minute and 10 in flight per organization, the organization. */
  function refused(org: string, authorization: string | undefined, running: number, reply: FastifyReply): FastifyReply | undefined {
    if (faults.down) return reply.code(503).type('text/html').send('<html><body>Service Unavailable</body></html>')
    const token = /^Zoho-oauthtoken (\S+)$/.exec(authorization ?? '')?.[1]
    const expiresAt = token ? tokens.get(token) : undefined
    if (!expiresAt || expiresAt < Date.now()) return reply.code(401).send(NOT_AUTHORIZED)
    const now = Date.now()
    const window = (calls.get(org) ?? []).filter((t) => t > now - 60_000)
    window.push(now)
    calls.set(org, window)
    if (window.length > perMinute) {
      return reply.code(429).send({ code: 44, message: 'You have made too many requests per minute. Please try again after some time.' })
    }
    if (running > maxConcurrency) {
      return reply.code(429).send({ code: 1070, message: 'You have exceeded the maximum number of concurrent API calls.' })
    }
    if (!/^\d+$/.test(org)) return reply.code(400).send({ code: 2, message: 'Invalid value passed for organization_id' })
    if (!organizations.has(org)) {
      return reply.code(400).send({ code: 6041, message: `This user is not associated with the CompanyID/CompanyName:${org}.` })
    }
    return undefined
  }

  app.get<{ Params: { id: string }; Querystring: { organization_id?: string } }>('/books/v3/contacts/:id', async (req, reply) => {
    stats.contactCalls++
    stats.byContact.set(req.params.id, (stats.byContact.get(req.params.id) ?? 0) + 1)
    const org = req.query.organization_id ?? ''
    return inFlightFor(org, async (running) => {
      const early = injected(faults.contact, reply) ?? refused(org, req.headers.authorization, running, reply)
      if (early) return early
      const id = req.params.id
      if (!/^\d+$/.test(id)) return reply.code(400).send({ code: 2, message: 'Invalid value passed for contact_id' })
      const contact = organizations.get(org)?.get(id)
      if (!contact) return reply.code(404).send({ code: 1002, message: 'Contact does not exist.' })
      return reply
        .type('application/json;charset=UTF-8')
        .send({ code: 0, message: 'success', contact, instrumentation: { response_write_time: 3, total_time: 41 } })
    })
  })

  app.get<{ Params: { id: string } }>('/books/v3/organizations/:id', async (req, reply) => {
    stats.organizationCalls++
    const org = req.params.id
    return inFlightFor(org, async (running) => {
      const early = refused(org, req.headers.authorization, running, reply)
      if (early) return early
      const organization = {
        ...(SANDBOX_ORGANIZATION_PROFILES[org] ?? { organization_id: org, name: `Organization ${org}`, currency_code: 'INR' }),
      }
      return reply.type('application/json;charset=UTF-8').send({ code: 0, message: 'success', organization })
    })
  })

  registerListings(app, { stats, faults, organizations, documents, inFlightFor, injected, refused })

  // A small control surface for processes that cannot reach the object (benchmarks, compose).
  app.get('/__sandbox/stats', async () => ({
    token_calls: stats.tokenCalls,
    contact_calls: stats.contactCalls,
    list_calls: stats.listCalls,
    max_in_flight: stats.maxInFlight,
    by_status: Object.fromEntries(stats.byStatus),
  }))
  app.post<{ Body: { latency_ms?: number; down?: boolean; reset_stats?: boolean } }>('/__sandbox/faults', async (req) => {
    if (typeof req.body?.latency_ms === 'number') faults.latencyMs = req.body.latency_ms
    if (typeof req.body?.down === 'boolean') faults.down = req.body.down
    if (req.body?.reset_stats) resetStats()
    return { latency_ms: faults.latencyMs, down: faults.down }
  })

  let created = 0
  // An order system creating its order in Zoho (demos: a reservation ends when the next listing shows it).
  app.post<{ Body: { organization_id?: string; customer_id?: string; total?: number; reference_number?: string } }>(
    '/__sandbox/salesorders',
    async (req, reply) => {
      const { organization_id: org = [...organizations.keys()][0] ?? '', customer_id: customer, total, reference_number } = req.body ?? {}
      if (!customer || !organizations.get(org)?.has(customer) || typeof total !== 'number' || !(total > 0)) {
        return reply.code(400).send({ code: 2, message: 'customer_id of a contact of the organization and a total > 0, please' })
      }
      const docs = documents.get(org) ?? { invoices: [], salesorders: [] }
      documents.set(org, docs)
      created++
      const order = listedSalesOrder(
        `59${String(created).padStart(17, '0')}`,
        customer,
        { total, reference: reference_number ?? '' },
        Date.now(),
      )
      docs.salesorders.push(order)
      return { code: 0, message: 'Sales Order has been created.', salesorder: order }
    },
  )

  function resetStats() {
    stats.tokenCalls = 0
    stats.contactCalls = 0
    stats.organizationCalls = 0
    stats.byContact.clear()
    stats.byStatus.clear()
    stats.maxInFlight = 0
    stats.listCalls = 0
    stats.byList.clear()
    stats.listRequests.length = 0
  }

  return {
    app,
    stats,
    faults,
    organizations,
    documents,
    get accountsUrl() {
      return baseUrl
    },
    get apiBaseUrl() {
      return `${baseUrl}/books/v3`
    },
    get creditgateEnv() {
      return {
        ZOHO_ACCOUNTS_URL: baseUrl,
        ZOHO_API_BASE_URL: `${baseUrl}/books/v3`,
        ZOHO_CLIENT_ID: credentials.clientId,
        ZOHO_CLIENT_SECRET: credentials.clientSecret,
        ZOHO_REFRESH_TOKEN: credentials.refreshToken,
        ZOHO_ORGANIZATION_ID: SANDBOX_ORGANIZATION_ID,
        ZOHO_ORGANIZATION_IDS: `${SANDBOX_ORGANIZATION_ID},${SANDBOX_SECOND_ORGANIZATION_ID}`,
      }
    },
    async listen(port = 0, host = '127.0.0.1') {
      await app.listen({ port, host })
      const address = app.server.address() as AddressInfo
      baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
      return baseUrl
    },
    resetLimits() {
      calls.clear()
    },
    hold() {
      let release = () => {}
      held = new Promise((resolve) => {
        release = () => {
          held = undefined
          resolve()
        }
      })
      return release
    },
    revokeTokens() {
      tokens.clear()
    },
    issuedTokens,
    resetStats,
    async close() {
      for (const reply of pending) reply.raw.destroy()
      await app.close()
    },
  }
}
