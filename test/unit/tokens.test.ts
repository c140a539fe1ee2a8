import t from 'tap'
import { createLocalTokens } from '../../src/adapters/local/tokens.js'
import { MINT_WINDOW_MS, type MintedToken, type MintToken, mintWait } from '../../src/adapters/zoho/tokens.js'
import { problemOf, summary, T0 } from '../helpers/tokens.js'

/**
 * The per-process Zoho token on a minter standing in for Zoho and a clock the tests move, and the
 * wait before another mint (Zoho allows 10 per 10 minutes). Shared through Redis: system/token-shared.test.ts.
 */

t.test('the wait before another mint (mintWait)', async (t) => {
  const recent = (n: number) => Array.from({ length: n }, (_, i) => T0 - 1000 * (i + 1))

  t.test('fewer than 10 mints in the last 10 minutes: no wait, however many older ones', async (t) => {
    const older = [T0 - MINT_WINDOW_MS - 1, T0 - MINT_WINDOW_MS - 60_000, T0 - 2 * MINT_WINDOW_MS]
    t.equal(mintWait([...older, ...recent(9)], T0), 0)
  })

  t.test('a mint exactly 10 minutes old no longer counts', async (t) => {
    t.equal(mintWait([T0 - MINT_WINDOW_MS, ...recent(9)], T0), 0)
  })

  t.test('10 mints in the window: the seconds until the oldest leaves it, rounded up', async (t) => {
    t.equal(mintWait([...recent(9), T0 - MINT_WINDOW_MS + 1_500], T0), 2)
    t.equal(mintWait([...recent(9), T0 - MINT_WINDOW_MS + 90_000], T0), 90)
  })
})

/** A minter standing in for Zoho: tokens t1, t2, … each valid for lifeMs from the clock's time. */
function fakeMint(now: () => number, lifeMs = 60_000) {
  const minted: MintedToken[] = []
  let failNext = false
  const mint: MintToken = async () => {
    if (failNext) {
      failNext = false
      throw new Error('the accounts server is down')
    }
    const token = { token: `t${minted.length + 1}`, expiresAt: now() + lifeMs }
    minted.push(token)
    return token
  }
  return {
    mint,
    minted,
    failOnce() {
      failNext = true
    },
  }
}

t.test('the per-process token', async (t) => {
  t.test('concurrent callers share one mint', async (t) => {
    const zoho = fakeMint(() => T0)
    const tokens = createLocalTokens(zoho.mint, () => T0)
    t.same(await Promise.all([tokens.get(), tokens.get(), tokens.get()]), ['t1', 't1', 't1'])
    t.equal(await tokens.get(), 't1')
    t.equal(zoho.minted.length, 1)
  })

  t.test('a token is used until its expiry, then replaced', async (t) => {
    let clock = T0
    const zoho = fakeMint(() => clock, 60_000)
    const tokens = createLocalTokens(zoho.mint, () => clock)
    t.equal(await tokens.get(), 't1')
    clock = T0 + 59_999
    t.equal(await tokens.get(), 't1', 'still used 1 ms before its expiry')
    clock = T0 + 60_000
    t.equal(await tokens.get(), 't2', 'replaced at its expiry')
    t.equal(zoho.minted.length, 2)
  })

  t.test('a rejected token is replaced by one mint, however many calls reject it', async (t) => {
    const zoho = fakeMint(() => T0)
    const tokens = createLocalTokens(zoho.mint, () => T0)
    t.equal(await tokens.get(), 't1')
    await tokens.reject('t1')
    await tokens.reject('t1')
    t.same(await Promise.all([tokens.get(), tokens.get()]), ['t2', 't2'])
    t.equal(zoho.minted.length, 2)
  })

  t.test('a late rejection of a token already replaced keeps the replacement', async (t) => {
    const zoho = fakeMint(() => T0)
    const tokens = createLocalTokens(zoho.mint, () => T0)
    await tokens.get()
    await tokens.reject('t1')
    t.equal(await tokens.get(), 't2')
    await tokens.reject('t1')
    t.equal(await tokens.get(), 't2')
    t.equal(zoho.minted.length, 2)
  })

  t.test('a failed mint is tried again by the next call', async (t) => {
    const zoho = fakeMint(() => T0)
    const tokens = createLocalTokens(zoho.mint, () => T0)
    zoho.failOnce()
    await t.rejects(tokens.get(), { message: 'the accounts server is down' })
    t.equal(await tokens.get(), 't1')
  })

  t.test('at most 10 mints per 10 minutes: the 11th waits until the oldest leaves the window', async (t) => {
    let clock = T0
    const zoho = fakeMint(() => clock)
    const tokens = createLocalTokens(zoho.mint, () => clock)
    for (let i = 1; i <= 10; i++) {
      t.equal(await tokens.get(), `t${i}`)
      await tokens.reject(`t${i}`)
      clock += 1000
    }
    // 10 s after the first mint: it leaves the window in 590 s.
    t.same(summary(await problemOf(tokens.get())), {
      code: 'upstream_unavailable',
      detail: 'Zoho allows 10 token refreshes per 10 minutes and they are used up',
      retryAfterSeconds: 590,
    })
    clock = T0 + MINT_WINDOW_MS
    t.equal(await tokens.get(), 't11', 'allowed once the first mint is 10 minutes old')
    await tokens.reject('t11')
    t.equal((await problemOf(tokens.get())).retryAfterSeconds, 1, 'the second mint leaves the window 1 s later')
    t.equal(zoho.minted.length, 11)
  })
})
