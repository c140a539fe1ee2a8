import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
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
 * The credit console's files: its own (src/console, copied beside the compiled code by `npm run
 * build`) and uPlot's prebuilt bundle from node_modules. Read once at start and served from memory;
 * only these names exist, so no path from a request ever reaches the file system.
 */
async function loadFiles(): Promise<Map<string, { type: string; body: Buffer }>> {
  const own = (name: string) => fileURLToPath(new URL(`../console/${name}`, import.meta.url))
  const uplot = (name: string) => createRequire(import.meta.url).resolve(`uplot/dist/${name}`)
  const sources: [string, string, keyof typeof TYPES][] = [
    ['index.html', own('index.html'), 'html'],
    ['console.js', own('console.js'), 'js'],
    ['lib.js', own('lib.js'), 'js'],
    ['cases.js', own('cases.js'), 'js'],
    ['portfolio.js', own('portfolio.js'), 'js'],
    ['console.css', own('console.css'), 'css'],
    ['icon.svg', own('icon.svg'), 'svg'],
    ['uplot.js', uplot('uPlot.iife.min.js'), 'js'],
    ['uplot.css', uplot('uPlot.min.css'), 'css'],
  ]
  const files = new Map<string, { type: string; body: Buffer }>()
  for (const [name, path, type] of sources) files.set(name, { type: TYPES[type], body: await readFile(path) })
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
