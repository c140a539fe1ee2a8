import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { PROBLEMS, Problem, type ProblemCode, problemType } from '../errors.js'
import { problemExample } from '../openapi/examples.js'
import { problemResponses } from './schemas.js'

/**
 * The pages behind every problem `type` (/problems/{code}): what it means, why it happens and
 * what to do, from the catalogue in errors.ts. A client can follow the link a problem carries.
 */
const CODES = Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
/** `code` spans, the only markup the catalogue uses. */
const inline = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>')

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — creditgate</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}code,pre{background:#f4f4f4}pre{padding:1rem;overflow:auto}</style>
</head><body>${body}</body></html>
`

export function problemPage(code: ProblemCode): string {
  const p = PROBLEMS[code]
  return page(
    p.title,
    `<p><a href="/problems">All problems</a></p>
<h1>${escapeHtml(p.title)}</h1>
<p>HTTP <strong>${p.status}</strong>, <code>code: "${code}"</code>, <code>type: "${problemType(code)}"</code></p>
<h2>Why it happens</h2><p>${inline(p.cause)}</p>
<h2>What to do</h2><p>${inline(p.fix)}</p>
<h2>Example</h2><pre>${escapeHtml(JSON.stringify(problemExample(code).value, null, 2))}</pre>`,
  )
}

export function problemIndex(): string {
  const rows = CODES.map(
    (code) =>
      `<tr><td>${PROBLEMS[code].status}</td><td><a href="${problemType(code)}"><code>${code}</code></a></td><td>${escapeHtml(PROBLEMS[code].title)}</td></tr>`,
  ).join('\n')
  return page(
    'Problems',
    `<h1>Problems creditgate reports</h1>
<p>Every error is <code>application/problem+json</code>: <code>{type, title, status, detail, code, request_id}</code>. The <code>type</code> links to one of these pages.</p>
<table><tr><th>status</th><th>code</th><th>title</th></tr>
${rows}</table>`,
  )
}

const HTML = { description: 'An HTML page', content: { 'text/html': { schema: z.string() } } }

export const problemRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/problems',
    {
      schema: {
        operationId: 'listProblems',
        summary: 'Every problem creditgate reports',
        description: 'An HTML page listing every problem code with its status and title, linking to its page.',
        tags: ['errors'],
        security: [],
        response: { 200: HTML },
      },
    },
    async (_req, reply) => reply.type('text/html; charset=utf-8').send(problemIndex()),
  )

  app.get(
    '/problems/:code',
    {
      schema: {
        operationId: 'getProblem',
        summary: 'What a problem means and what to do about it',
        description: 'The page a problem’s `type` points to: its cause, the fix, and an example body.',
        tags: ['errors'],
        security: [],
        params: z.object({ code: z.string().describe('A problem code, e.g. contact_not_found') }),
        response: {
          200: HTML,
          ...problemResponses(404),
        },
      },
    },
    async (req, reply) => {
      const code = req.params.code as ProblemCode
      if (!Object.hasOwn(PROBLEMS, code)) throw new Problem('not_found', `no problem is called "${req.params.code}"; see /problems`)
      return reply.type('text/html; charset=utf-8').send(problemPage(code))
    },
  )
}
