// Shared helpers for the decision experiments: private redis-server, medians, rolling-window maximum.
import { execFileSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

export { sleep }

export async function startRedis(port) {
  execFileSync('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'yes'])
  for (let i = 0; i < 50; i++) {
    try {
      if (execFileSync('redis-cli', ['-p', String(port), 'ping']).toString().trim() === 'PONG') return
    } catch {}
    await sleep(50)
  }
  throw new Error(`redis on ${port} did not start`)
}

export function stopRedis(port) {
  try {
    execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'ignore' })
  } catch {}
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** The largest number of timestamps inside any half-open window [x, x + w). */
export function maxInRollingWindow(times, w) {
  const t = [...times].sort((a, b) => a - b)
  let best = 0
  let i = 0
  for (let j = 0; j < t.length; j++) {
    while (t[j] - t[i] >= w) i++
    best = Math.max(best, j - i + 1)
  }
  return best
}
