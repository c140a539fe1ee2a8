import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'
import { Problem } from '../errors.js'

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
} as const

/**
 * The credit console's files: its own (every file of src/console — the page, its ES modules, CSS
 * and icon — copied beside the compiled code by `npm run build`) and uPlot's prebuilt bundle from
 * node_modules. Read once at start and served from memory: only the names listed then exist, so
 * no path from a request ever reaches the file system.
 */
async function loadFiles(): Promise<Map<string, { type: string; body: Buffer }>> {
  const dir = fileURLToPath(new URL('../console/', import.meta.url))
  const uplot = (name: string) => createRequire(import.meta.url).resolve(`uplot/dist/${name}`)
  const typeOf = (name: string) => TYPES[extname(name).slice(1) as keyof typeof TYPES] as string | undefined
  const sources: [string, string][] = (await readdir(dir)).filter((name) => typeOf(name)).map((name) => [name, join(dir, name)])
  sources.push(['uplot.js', uplot('uPlot.iife.min.js')], ['uplot.css', uplot('uPlot.min.css')])
  const files = new Map<string, { type: string; body: Buffer }>()
  for (const [name, path] of sources) files.set(name, { type: typeOf(name) as string, body: await readFile(path) })
  return files
}

/** GET /console: the credit console for operations (admin keys); it calls the public API only. */
export const consoleRoutes: FastifyPluginAsync = async (app) => {
  const files = await loadFiles()
  const send = (name: string) => {
    const file = files.get(name)
    if (!file) throw new Problem('not_found', `no console file ${name}`)
    return file
  }
  app.get('/console', { schema: { hide: true } }, async (_req, reply) => {
    const file = send('index.html')
    return reply.type(file.type).header('cache-control', 'no-cache').send(file.body)
  })
  app.get('/console/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console'))
  app.get<{ Params: { file: string } }>('/console/:file', { schema: { hide: true } }, async (req, reply) => {
    const file = send(req.params.file)
    return reply.type(file.type).header('cache-control', 'no-cache').send(file.body)
  })
}
