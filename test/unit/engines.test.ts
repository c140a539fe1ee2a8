import { readFile } from 'node:fs/promises'
import t from 'tap'

/** The Node version: package.json's engines, the npm scripts' node, the Docker image and this run agree. */

// Issue 13, finding 19 (failed before its fix).
t.test('engines names the oldest Node the code runs on, and the image and CI use it', async (t) => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> }
  const oldest = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node)
  t.ok(oldest, `engines.node is a lower bound: ${pkg.engines.node}`)
  const [major, minor] = [Number(oldest?.[1]), Number(oldest?.[2])]
  // crypto.hash (src/plugins/credentials.ts) exists from Node 20.12 and 21.7.
  t.ok(major > 21 || (major === 21 && minor >= 7) || (major === 20 && minor >= 12), 'admits no Node without crypto.hash')
  t.match(pkg.devDependencies.node, new RegExp(`^\\^?${major}\\.`), 'npm scripts run on that line')
  t.match(await readFile('Dockerfile', 'utf8'), new RegExp(`FROM node:${major}-bookworm-slim`), 'and so does the image')
  const [runMajor, runMinor] = process.versions.node.split('.').map(Number) as [number, number]
  t.ok(runMajor > major || (runMajor === major && runMinor >= minor), `this run (Node ${process.versions.node}) is one engines admits`)
})
