// Micro-check: cost of one incr() of @fastify/rate-limit's LocalStore vs creditgate's batched store (no Redis flush: link stubbed down).
import { createRequire } from 'node:module'
import { createBatchedStore } from './batched-store.mjs'
const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore.js')
const local = new LocalStore(false, false)
const Batched = createBatchedStore(undefined, 'x:')
const batched = new Batched()
const cb = () => {}
for (const [name, s] of [['local', local], ['batched', batched], ['local', local], ['batched', batched]]) {
  const t = process.hrtime.bigint()
  for (let i = 0; i < 2e6; i++) s.incr('ip:127.0.0.1', cb, 60000, 1e9)
  console.log(name, (Number(process.hrtime.bigint() - t) / 2e6).toFixed(3), 'µs... ns per incr:', (Number(process.hrtime.bigint() - t) / 2e6).toFixed(0))
}
