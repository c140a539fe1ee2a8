/**
 * Runs tasks one after the other per key, in the order they came: a queue per key, forgotten when
 * it empties. A task's failure fails only that task.
 */
export function createSerial() {
  const tails = new Map<string, Promise<unknown>>()
  return function serial<T>(key: string, task: () => Promise<T>): Promise<T> {
    const run = (tails.get(key) ?? Promise.resolve()).then(task)
    const tail = run.catch(() => {})
    tails.set(key, tail)
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key)
    })
    return run
  }
}
