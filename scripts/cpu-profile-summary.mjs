#!/usr/bin/env node
// Sums a .cpuprofile (node --cpu-prof) by package or file and by function: self time as a share
// of the busy time (idle and "(program)" left out). With a function's name, where its time came
// from instead: the chains of callers (e.g. writeUtf8String: which socket writes). With
// --inclusive and parts of frames ("function@file"), the time spent in each and all it calls.
//   node scripts/cpu-profile-summary.mjs FILE.cpuprofile [top=40] [function [depth=8]]
//   node scripts/cpu-profile-summary.mjs FILE.cpuprofile --inclusive record@routes/risk observe@plugins/history
import { readFileSync } from 'node:fs'

const [file, top = '40', callee, depth = '8'] = process.argv.slice(2)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
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
const frame = ({ functionName, url, lineNumber }) => `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`
const fns = new Map()
const files = new Map()
const chains = new Map()
let busy = 0
const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us)
for (const [id, us] of self) {
  const { callFrame } = byId.get(id)
  if (callFrame.functionName === '(idle)' || callFrame.functionName === '(program)') continue
  busy += us
  add(fns, frame(callFrame), us)
  add(files, where(callFrame.url), us)
  if (callFrame.functionName !== callee) continue
  const chain = []
  for (let at = parent.get(id); at && chain.length < Number(depth); at = parent.get(at)) chain.push(frame(byId.get(at).callFrame))
  add(chains, chain.join(' < '), us)
}
const show = (title, map) => {
  process.stdout.write(`\n${title} (self time, % of busy ${(busy / 1000).toFixed(0)} ms)\n`)
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top) || 40)) {
    process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${k}\n`)
  }
}
if (top === '--inclusive') {
  const parts = process.argv.slice(4)
  const inclusive = new Map(parts.map((part) => [part, 0]))
  for (const [id, us] of self) {
    const { functionName } = byId.get(id).callFrame
    if (functionName === '(idle)' || functionName === '(program)') continue
    const seen = new Set()
    for (let at = id; at; at = parent.get(at)) {
      const { callFrame: c } = byId.get(at)
      const label = `${c.functionName}@${c.url.replace(/^.*(node_modules|dist)\//, '')}:${c.lineNumber + 1}`
      for (const part of parts) if (!seen.has(part) && label.includes(part)) seen.add(part) && inclusive.set(part, inclusive.get(part) + us)
    }
  }
  show('inclusive', inclusive)
} else if (callee) show(`${callee}, called from`, chains)
else {
  show('by package or file', files)
  show('by function', fns)
}
