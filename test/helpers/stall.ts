import { monitorEventLoopDelay } from 'node:perf_hooks'

/**
 * A stall check that holds on a busy machine: the longest event-loop delay of this process while
 * `work` runs, in ms. A wall-clock bound on a probe's answer also counts the time the machine gave
 * other processes; the loop's own delay counts only what this process kept it from running.
 */
export const STALL_MS = 300

export async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  try {
    const result = await work()
    return { result, stallMs: delay.max / 1e6 }
  } finally {
    delay.disable()
  }
}

/** The longest event-loop delay a creditgate process saw since its /metrics was last read (prom-client resets it on each read), in ms. */
export async function serverStall(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const max = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]
  if (max === undefined) throw new Error('/metrics has no nodejs_eventloop_lag_max_seconds')
  return Number(max) * 1000
}
