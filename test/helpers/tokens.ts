import { isProblem, type Problem } from '../../src/errors.js'

/** A fixed instant; tests move their clocks from it instead of waiting. */
export const T0 = Date.UTC(2026, 10, 24, 10)
export const HOUR_MS = 3_600_000
export const FIVE_MINUTES_MS = 300_000

/** The problem a promise rejects with (a result instead fails the test). */
export async function problemOf(promise: Promise<unknown>): Promise<Problem> {
  try {
    await promise
  } catch (err) {
    if (isProblem(err)) return err
    throw err
  }
  throw new Error('expected a problem, got a result')
}

/** What a caller learns from a problem. */
export const summary = (p: Problem) => ({ code: p.code, detail: p.detail, retryAfterSeconds: p.retryAfterSeconds })
