import type { z } from 'zod'

// Reading the body of a successful Zoho answer: a listing's documents and whether more pages follow.

/** Reads the body of a successful answer (HTTP 200, code 0); a string says why it cannot. */
export type Read<T> = (body: Record<string, unknown>) => { ok: true; value: T } | { ok: false; problem: string }

/** `page_context` as the pagination guide prints it (an object) or as the invoices example does (an array of one). */
const hasMorePages = (body: Record<string, unknown>) => {
  const context = Array.isArray(body.page_context) ? body.page_context[0] : body.page_context
  return (context as { has_more_page?: unknown } | undefined)?.has_more_page === true
}

export const readList =
  <S extends z.ZodType>(key: string, schema: S): Read<{ items: z.output<S>[]; more: boolean }> =>
  (body) => {
    const list = body[key]
    if (!Array.isArray(list)) return { ok: false, problem: `no "${key}" list` }
    const items: z.output<S>[] = []
    for (const [i, raw] of list.entries()) {
      const parsed = schema.safeParse(raw)
      if (!parsed.success)
        return { ok: false, problem: `${key}[${i}].${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message}` }
      items.push(parsed.data)
    }
    return { ok: true, value: { items, more: hasMorePages(body) } }
  }
