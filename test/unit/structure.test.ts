import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'

/**
 * What keeps the repository readable to a newcomer (issue 29): files in src/ small enough to read
 * at once, every decision record reachable from the code it justifies and from the README, and
 * every document cited present in the repository.
 */

const ROOT = join(import.meta.dirname, '..', '..')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

/** Every file under `dir`, relative to the root. */
function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && !entry.parentPath.includes('node_modules'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort()
}

/** Generated code: not held to the limit here. */
const EXEMPT = new Set([
  // Generated from openapi/openapi.json (npm run client).
  'src/client/schema.ts',
])

t.test('no file in src/ is over 300 lines (TypeScript, the console’s modules, HTML and CSS), except generated code', async (t) => {
  const long = files('src')
    .filter((path) => !EXEMPT.has(path))
    .map((path) => ({ path, lines: read(path).split('\n').length - 1 }))
    .filter((file) => file.lines > 300)
  t.same(long, [])
})

t.test('every decision record is named by the code it justifies and listed in the README', async (t) => {
  const records = files('docs/decisions').filter((path) => /^docs\/decisions\/\d{3}-[a-z0-9-]+\.md$/.test(path))
  t.ok(records.length >= 14, `${records.length} records`)
  const code = files('src').map(read).join('\n')
  const readme = read('README.md')
  for (const record of records) {
    const name = record.slice('docs/decisions/'.length)
    t.ok(code.includes(`docs/decisions/${name}`), `${name} is named in src/`)
    t.ok(readme.includes(`(${record})`), `${name} is linked from the README`)
  }
})

t.test('the documents the code and tests cite are in the repository', async (t) => {
  const cited = ['src', 'test', 'docs', 'scripts', 'rules']
    .flatMap(files)
    .concat('README.md')
    .filter((path) => /\.(ts|js|mjs|md|json)$/.test(path))
    .filter((path) => /\b(ZOHO|DESIGN|STYLE)\.md\b|\.\.\/shared\//.test(read(path)))
  t.same(cited, [], 'none cites the design, Zoho or style notes outside the repository')
  for (const doc of ['docs/contract.md', 'docs/zoho.md']) t.ok(read(doc).length > 1000, `${doc} is there`)
})
