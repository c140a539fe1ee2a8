import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** The heap in use after a full garbage collection: what is still referenced, for tests of what a module keeps. */
export function heapInUse(): number {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
  return getHeapStatistics().used_heap_size
}

/** A string of `bytes` characters held in the heap itself (repeat() alone gives a tree of a few small pieces). */
export const bigString = (bytes: number): string => '1'.repeat(bytes + 1).slice(1)
