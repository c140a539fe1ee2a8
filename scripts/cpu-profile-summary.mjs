#!/usr/bin/env node
// Sums a .cpuprofile (node --cpu-prof) by function and by package/file: self time as a share of
// the busy time (idle and the profiler's own "(program)" left out). Usage:
//   node scripts/cpu-profile-summary.mjs FILE.cpuprofile [top=40]
import { readFileSync } from 'node:fs'

const [file, top = '40'] = process.argv.slice(2)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map()
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}
const where = (url) => {
  if (!url) return '(native)'
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m) return m[1]
  const d = /\/dist\/(.*)$/.exec(url)
  if (d) return `creditgate ${d[1]}`
  return url.startsWith('node:') ? url : url.replace(/^.*\//, '')
}
const fns = new Map()
const files = new Map()
let busy = 0
for (const [id, us] of self) {
  const { callFrame } = byId.get(id)
  if (callFrame.functionName === '(idle)' || callFrame.functionName === '(program)') continue
  busy += us
  const key = `${callFrame.functionName || '(anonymous)'} ${where(callFrame.url)}:${callFrame.lineNumber + 1}`
  fns.set(key, (fns.get(key) ?? 0) + us)
  const f = where(callFrame.url)
  files.set(f, (files.get(f) ?? 0) + us)
}
const show = (title, map) => {
  process.stdout.write(`\n${title} (self time, % of busy ${(busy / 1000).toFixed(0)} ms)\n`)
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${k}\n`)
  }
}
show('by package or file', files)
show('by function', fns)
