import t from 'tap'
import { createBatchedStore } from '../../src/adapters/redis/rate-limit-store.js'

/**
 * The rate-limit store without Redis (no link, or before it is up): each key counted in this
 * process within its window, a window that has ended starting again at zero, and a route's child
 * store counting with the parent (docs/decisions/004-rate-limit-store.md).
 */

type Answer = { current: number; ttl: number }
const incr = (store: { incr(key: string, cb: (err: Error | null, r: Answer) => void, ms: number): void }, key: string, ms: number) =>
  new Promise<Answer>((resolve, reject) => store.incr(key, (err, r) => (err ? reject(err) : resolve(r)), ms))

t.test('counts each key in its window; an ended window starts at zero; a child store counts with its parent', async (t) => {
  const Store = createBatchedStore(undefined, 'test:')
  const store = new Store()
  t.same((await incr(store, 'caller-a', 60_000)).current, 1)
  t.same((await incr(store, 'caller-a', 60_000)).current, 2)
  t.same((await incr(store, 'caller-b', 60_000)).current, 1, 'another key has its own count')
  const child = store.child()
  t.equal((await incr(child, 'caller-a', 60_000)).current, 3, 'a route’s child store shares the counts')
  const short = await incr(store, 'caller-c', 1)
  t.ok(short.ttl <= 1 && short.current === 1)
  // Asked again until the 1 ms window has ended (a deadline, no sleep): then the count starts at 1.
  let again = await incr(store, 'caller-c', 1)
  for (const deadline = Date.now() + 1000; again.current !== 1 && Date.now() < deadline; ) {
    await new Promise((resolve) => setImmediate(resolve))
    again = await incr(store, 'caller-c', 1)
  }
  t.equal(again.current, 1, 'the window ended: counting starts again')
})
