// 001: how many calls can any rolling window see, under rate-limiter-flexible's RateLimiterRedis
// (fixed window) and under creditgate's ACQUIRE script (sliding-window log), both set to B per W?
//
//   node exp1-budget.mjs            scaled: B = 10 per W = 1 s, 3 runs of each pattern
//   node exp1-budget.mjs real       real scale: B = 90 per 60 s, one run of the edge pattern (~62 s)
//   node exp1-budget.mjs outage     3 instances, Redis dies with S calls spent: insurance vs degraded share
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible'
import { maxInRollingWindow, median, sleep, startRedis, stopRedis } from './lib.mjs'

const PORT = 16391

// ACQUIRE copied verbatim from /work/main/src/adapters/redis/budget.ts (2026-11-25); the only
// change is below it: an admitted call returns Redis's clock, so calls are timed by the clock
// that decided them (the decision itself is untouched).
const ACQUIRE_SRC = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[5])
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return {0, paused, 'paused'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now, 'spent'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return {0, 1000, 'busy'} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window + 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) + 1000)
redis.call('PUBLISH', ARGV[6], '{"type":"zoho_call","org":"' .. ARGV[7] .. '","id":"' .. ARGV[4] .. '","at":' .. string.format('%.0f', now) .. '}')
return {1, 0, 'ok'}
`
const ACQUIRE = ACQUIRE_SRC.replace("return {1, 0, 'ok'}", "return {1, now, 'ok'}")

// rate-limiter-flexible's own incr script (lib/RateLimiterRedis.js), likewise also returning Redis's clock.
const RLFLX_TIMED = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX') \
local consumed = redis.call('incrby', KEYS[1], ARGV[1]) \
local ttl = redis.call('pttl', KEYS[1]) \
if ttl == -1 then \
  redis.call('expire', KEYS[1], ARGV[2]) \
  ttl = 1000 * ARGV[2] \
end \
local t = redis.call('TIME') \
return {consumed, ttl, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)} \
`
class TimedRateLimiterRedis extends RateLimiterRedis {
  _getRateLimiterRes(rlKey, changedPoints, result) {
    const res = super._getRateLimiterRes(rlKey, changedPoints, result)
    res.redisNow = Number(result[2])
    return res
  }
}

// degradedShare's perMinute, copied from the same file: each of N instances may make ⌊(B − S) / N⌋.
const degradedPerMinute = (B, S, N) => Math.max(0, Math.floor((B - S) / N))

let seq = 0
/** A limiter: try() resolves to Redis's clock (ms) if a call may leave now, else undefined. */
function slidingLimiter(client, B, windowMs) {
  const org = `org${++seq}`
  const keys = [`t:{${org}}:calls`, `t:{${org}}:inflight`, `t:{${org}}:paused`]
  return {
    name: 'sliding log (creditgate ACQUIRE)',
    async try() {
      const [ok, now] = await client.eval(ACQUIRE, 3, ...keys, B, 1_000_000, 60_000, `${seq}-${Math.random()}`, windowMs, 'exp:events', org)
      return ok === 1 ? now : undefined
    },
    async msToWindowEnd() {
      return windowMs // the window slides from the first call
    },
  }
}

function fixedLimiter(client, B, windowMs) {
  const key = `org${++seq}`
  const rl = new TimedRateLimiterRedis({
    storeClient: client,
    points: B,
    duration: windowMs / 1000,
    keyPrefix: 'rlflx',
    customIncrTtlLuaScript: RLFLX_TIMED,
  })
  let lastMsBeforeNext = windowMs
  return {
    name: 'fixed window (RateLimiterRedis)',
    async try() {
      try {
        const res = await rl.consume(key)
        lastMsBeforeNext = res.msBeforeNext
        return res.redisNow
      } catch (res) {
        if (res instanceof Error) throw res
        return undefined
      }
    },
    async msToWindowEnd() {
      return lastMsBeforeNext
    },
  }
}

/** One call, then a burst just before the first window ends and another just after. */
async function edgePattern(limiter, B, windowMs) {
  const passed = []
  const attempt = async () => {
    const at = await limiter.try()
    if (at !== undefined) passed.push(at)
  }
  const t0 = performance.now()
  await attempt()
  const end = t0 + (await limiter.msToWindowEnd())
  const early = Math.max(30, windowMs * 0.06)
  await sleep(end - early - performance.now())
  await Promise.all(Array.from({ length: 2 * B }, attempt))
  await sleep(end + 15 - performance.now())
  await Promise.all(Array.from({ length: 2 * B }, attempt))
  return { passed: passed.length, maxRolling: maxInRollingWindow(passed, windowMs) }
}

/** A steady flood: one attempt every 5 ms for 3.5 windows. */
async function floodPattern(limiter, B, windowMs) {
  const passed = []
  const stop = performance.now() + 3.5 * windowMs
  while (performance.now() < stop) {
    const at = await limiter.try()
    if (at !== undefined) passed.push(at)
    await sleep(5)
  }
  return { passed: passed.length, maxRolling: maxInRollingWindow(passed, windowMs) }
}

async function scaled(client) {
  const B = 10
  const W = 1000
  const results = {}
  for (const [pattern, run] of [
    ['edge', edgePattern],
    ['flood', floodPattern],
  ]) {
    for (let round = 0; round < 3; round++) {
      // alternate which limiter goes first
      const makers = round % 2 ? [slidingLimiter, fixedLimiter] : [fixedLimiter, slidingLimiter]
      for (const make of makers) {
        const limiter = make(client, B, W)
        const r = await run(limiter, B, W)
        const k = `${pattern} | ${limiter.name}`
        ;(results[k] ??= []).push(r.maxRolling)
        console.log(`round ${round + 1} ${k}: passed ${r.passed}, max in any rolling ${W} ms: ${r.maxRolling}`)
      }
    }
  }
  console.log(`\nB = ${B} per ${W} ms; median of 3 of the max calls in any rolling ${W} ms:`)
  for (const [k, v] of Object.entries(results)) console.log(`  ${k}: ${median(v)} (runs ${v.join(', ')}) = ${(median(v) / B).toFixed(2)} × B`)
}

async function real(client) {
  const B = 90
  const W = 60_000
  const limiters = [fixedLimiter(client, B, W), slidingLimiter(client, B, W)]
  const rs = await Promise.all(limiters.map((l) => edgePattern(l, B, W)))
  console.log(`B = ${B} per 60 s (creditgate's default), edge pattern, one run:`)
  rs.forEach((r, i) => console.log(`  ${limiters[i].name}: passed ${r.passed}, max in any rolling 60 s: ${r.maxRolling} (Zoho blocks above 100)`))
}

/**
 * N instances, each with its own client; S calls are spent in Redis; Redis dies; every instance
 * then tries 3B calls. With rate-limiter-flexible each falls back to its insuranceLimiter.
 */
async function outage() {
  const B = 10
  const W = 1000
  const N = 3
  const S = 4
  const rows = []
  for (const [label, insurancePoints] of [
    ['insurance = full B per instance (as in the docs example)', B],
    ['insurance = ⌊B / N⌋ per instance (divided by hand)', Math.floor(B / N)],
  ]) {
    const runs = []
    const spans = []
    for (let round = 0; round < 3; round++) {
      await startRedis(PORT)
      const clients = Array.from(
        { length: N },
        () => new Redis({ port: PORT, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 1000 }),
      )
      await Promise.all(clients.map((c) => (c.status === 'ready' ? null : new Promise((r) => c.once('ready', r)))))
      clients.forEach((c) => c.on('error', () => {}))
      const limiters = clients.map(
        (c) =>
          new RateLimiterRedis({
            storeClient: c,
            points: B,
            duration: W / 1000,
            keyPrefix: `out${round}${insurancePoints}`,
            insuranceLimiter: new RateLimiterMemory({ points: insurancePoints, duration: W / 1000 }),
          }),
      )
      let passed = 0
      const consume = (l) =>
        l.consume('org').then(
          () => passed++,
          () => {},
        )
      const started = performance.now()
      for (let i = 0; i < S; i++) await consume(limiters[0])
      stopRedis(PORT)
      await sleep(50)
      await Promise.all(limiters.flatMap((l) => Array.from({ length: 3 * B }, () => consume(l))))
      runs.push(passed)
      spans.push(Math.round(performance.now() - started))
      for (const c of clients) c.disconnect()
    }
    rows.push(`  ${label}: ${median(runs)} calls in the window (runs ${runs.join(', ')}, all within ${Math.max(...spans)} ms) = ${(median(runs) / B).toFixed(1)} × B`)
  }
  const share = degradedPerMinute(B, S, N)
  rows.push(`  creditgate degradedShare ⌊(B − S) / N⌋ = ${share} per instance: ${S} + ${N} × ${share} = ${S + N * share} (formula; test/system/zoho-budget-instances.test.ts measures it)`)
  console.log(`B = ${B} per ${W} ms, N = ${N} instances, S = ${S} spent in Redis before it died, each instance then tries ${3 * B}:`)
  console.log(rows.join('\n'))
}

const mode = process.argv[2] ?? 'scaled'
if (mode === 'outage') {
  await outage()
} else {
  await startRedis(PORT)
  const client = new Redis({ port: PORT })
  try {
    if (mode === 'real') await real(client)
    else await scaled(client)
  } finally {
    client.disconnect()
    stopRedis(PORT)
  }
}
