/**
 * The source's items, each next one asked for as soon as the one before is handed out: the
 * source's I/O (a backtest's next page from Redis) overlaps the consumer's work on the one before.
 * At most one item is read ahead; a failure reaches the consumer when it asks for that item. A
 * consumer that stops early stops the source too (once the item read ahead has come).
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const items = source[Symbol.asyncIterator]()
  const ask = () => {
    const next = items.next()
    // A failure while the consumer is busy is the consumer's, when it asks: not an unhandled rejection.
    next.catch(() => {})
    return next
  }
  let next = ask()
  try {
    for (;;) {
      const item = await next
      if (item.done) return
      next = ask()
      yield item.value
    }
  } finally {
    await items.return?.()
  }
}
