import type { FastifyInstance, FastifyReply } from 'fastify'
import { listedContact } from './contact-list.js'
import type { Documents } from './contacts.js'
import type { ContactFault, Sandbox, SandboxStats } from './types.js'

const UNPAID = new Set(['sent', 'viewed', 'overdue', 'unpaid', 'partially_paid'])
/** Which documents a listing's filter_by (or status) selects; undefined for a filter Zoho would refuse. */
function listFilter(kind: 'invoices' | 'salesorders', filterBy: string | undefined, status: string | undefined) {
  const named = filterBy ?? (status ? `Status.${status}` : 'Status.All')
  const is = (statuses: string[]) => (doc: Record<string, unknown>) => statuses.includes(String(doc.status))
  const invoices: Record<string, (doc: Record<string, unknown>) => boolean> = {
    'Status.All': () => true,
    'Status.Unpaid': (doc) => UNPAID.has(String(doc.status)) && Number(doc.balance) > 0,
    'Status.OverDue': is(['overdue']),
    'Status.PartiallyPaid': is(['partially_paid']),
    'Status.Paid': is(['paid']),
    'Status.Draft': is(['draft']),
    'Status.Void': is(['void']),
    'Status.Sent': is(['sent']),
  }
  const orders: Record<string, (doc: Record<string, unknown>) => boolean> = {
    'Status.All': () => true,
    'Status.Open': is(['open']),
    'Status.PartiallyInvoiced': is(['partially_invoiced']),
    'Status.Invoiced': is(['invoiced']),
    'Status.Draft': is(['draft']),
    'Status.Void': is(['void']),
    'Status.Closed': is(['closed']),
  }
  return (kind === 'invoices' ? invoices : orders)[named]
}

/** What the listing routes share with the rest of the sandbox (sandbox.ts). */
export interface ListingContext {
  readonly stats: SandboxStats
  readonly faults: Sandbox['faults']
  readonly organizations: Sandbox['organizations']
  readonly documents: Map<string, Documents>
  /** Counts a call in flight for the organization around `answer`, with the injected latency and hold. */
  readonly inFlightFor: <T>(org: string, answer: (running: number) => Promise<T>) => Promise<T>
  /** An injected fault, if one is queued: the answer is sent (or withheld) there. */
  readonly injected: (queue: ContactFault[], reply: FastifyReply) => FastifyReply | Promise<never> | undefined
  /** What Zoho checks before any answer: up, the token, the limits, the organization. */
  readonly refused: (org: string, authorization: string | undefined, running: number, reply: FastifyReply) => FastifyReply | undefined
}

export function registerListings(
  app: FastifyInstance,
  { stats, faults, organizations, documents, inFlightFor, injected, refused }: ListingContext,
): void {
  /** A listing call: counted, limited like every call, its page and per_page (at most 200) checked before `answer`. */
  function listing(
    kind: 'invoices' | 'salesorders' | 'contacts',
    query: { organization_id?: string; page?: string; per_page?: string },
    authorization: string | undefined,
    reply: FastifyReply,
    answer: (page: number, perPage: number) => Promise<FastifyReply>,
  ) {
    stats.listCalls++
    stats.byList.set(kind, (stats.byList.get(kind) ?? 0) + 1)
    stats.listRequests.push(`/${kind}?${new URLSearchParams(query as Record<string, string>)}`)
    const org = query.organization_id ?? ''
    return inFlightFor(org, async (running) => {
      const early = injected(faults.list, reply) ?? refused(org, authorization, running, reply)
      if (early) return early
      const page = Number(query.page ?? 1)
      const perPage = Math.min(200, Number(query.per_page ?? 200))
      if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 1) {
        return reply.code(400).send({ code: 2, message: 'Invalid value passed for page' })
      }
      return answer(page, perPage)
    })
  }

  /** List contacts: the organization's contacts, 200 a page, each page one call against Zoho's limits. */
  app.get<{ Querystring: { organization_id?: string; page?: string; per_page?: string } }>('/books/v3/contacts', async (req, reply) => {
    const org = req.query.organization_id ?? ''
    return listing('contacts', req.query, req.headers.authorization, reply, async (page, perPage) => {
      const all = [...(organizations.get(org)?.values() ?? [])]
      const contacts = all.slice((page - 1) * perPage, page * perPage).map(listedContact)
      const page_context = { page, per_page: perPage, has_more_page: page * perPage < all.length, applied_filter: 'Status.All' }
      const text = JSON.stringify({ code: 0, message: 'success', contacts, page_context })
      // Ids beyond 2^53 as JSON numbers, as Zoho's own examples print them.
      return reply.type('application/json;charset=UTF-8').send(text.replace(/"(contact_id|zcrm_account_id)":"(\d{16,19})"/g, '"$1":$2'))
    })
  })

  /**
   * List invoices and List sales orders as Zoho answers them: filters, `page`/`per_page` (at most
   * 200), `page_context` (an array of one for invoices, an object for sales orders: both occur),
   * ids over 2^53 printed as JSON numbers, " " for unset dates.
   */
  for (const kind of ['invoices', 'salesorders'] as const) {
    type ListQuery = {
      organization_id?: string
      customer_id?: string
      filter_by?: string
      status?: string
      date_start?: string
      page?: string
      per_page?: string
    }
    app.get<{ Querystring: ListQuery }>(`/books/v3/${kind}`, async (req, reply) => {
      const org = req.query.organization_id ?? ''
      return listing(kind, req.query, req.headers.authorization, reply, async (page, perPage) => {
        const wanted = listFilter(kind, req.query.filter_by, req.query.status)
        if (!wanted) return reply.code(400).send({ code: 2, message: 'Invalid value passed for filter_by' })
        const all = (documents.get(org)?.[kind] ?? []).filter(
          (doc) =>
            wanted(doc) &&
            (req.query.customer_id === undefined || doc.customer_id === req.query.customer_id) &&
            (req.query.date_start === undefined || String(doc.date) >= req.query.date_start),
        )
        // Zoho prints the customer's display name on each listed document.
        const named = (doc: Record<string, unknown>) => {
          const contact = organizations.get(org)?.get(String(doc.customer_id)) as { contact_name?: unknown } | undefined
          return doc.customer_name || contact?.contact_name === undefined ? doc : { ...doc, customer_name: contact.contact_name }
        }
        const items = all.slice((page - 1) * perPage, page * perPage).map(named)
        const context = {
          page,
          per_page: perPage,
          has_more_page: page * perPage < all.length,
          applied_filter: req.query.filter_by ?? 'Status.All',
          sort_column: 'created_time',
          sort_order: 'D',
        }
        const body = { code: 0, message: 'success', [kind]: items, page_context: kind === 'invoices' ? [context] : context }
        // Ids beyond 2^53 as JSON numbers, as Zoho's own examples print them.
        const text = JSON.stringify(body).replace(/"((?:invoice|salesorder|customer)_id)":"(\d{16,19})"/g, '"$1":$2')
        return reply.type('application/json;charset=UTF-8').send(text)
      })
    })
  }
}
