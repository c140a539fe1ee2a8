import t from 'tap'
import { readAhead } from '../../src/lib/read-ahead.js'

t.test('readAhead asks for the next item while the consumer works on the one before, in order, one ahead at most', async (t) => {
  const asked: number[] = []
  async function* source() {
    for (let i = 1; i <= 3; i++) {
      asked.push(i)
      yield i
    }
  }
  const seen: { item: number; asked: number[] }[] = []
  for await (const item of readAhead(source())) {
    // Let the source run as far as it may while this item is being worked on.
    await new Promise((resolve) => setImmediate(resolve))
    seen.push({ item, asked: [...asked] })
  }
  t.same(seen, [
    { item: 1, asked: [1, 2] },
    { item: 2, asked: [1, 2, 3] },
    { item: 3, asked: [1, 2, 3] },
  ])
})

t.test('readAhead passes a failure of the source on to the consumer', async (t) => {
  async function* failing() {
    yield 1
    throw new Error('page lost')
  }
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => {
    process.off('unhandledRejection', onUnhandled)
  })
  const got: number[] = []
  await t.rejects(async () => {
    for await (const item of readAhead(failing())) {
      // The consumer is busy for a while after the source has already failed.
      await new Promise((resolve) => setTimeout(resolve, 20))
      got.push(item)
    }
  }, /page lost/)
  t.same(got, [1])
  t.same(unhandled, [], 'the failure read ahead is not reported as an unhandled rejection')
})

t.test('readAhead stops the source when the consumer stops early', async (t) => {
  let stopped = false
  async function* source() {
    try {
      for (let i = 1; ; i++) yield i
    } finally {
      stopped = true
    }
  }
  for await (const item of readAhead(source())) if (item === 2) break
  t.ok(stopped, 'the source ran its finally (the backtest worker tells its reader thread to stop there)')
})
