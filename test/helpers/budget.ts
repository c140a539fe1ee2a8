import type { BudgetLimits } from '../../src/adapters/local/budget.js'
import { BudgetRefused } from '../../src/adapters/zoho/ports.js'

/** What the Zoho budget's tests share: organizations, a start time, a clock they move, and how an acquire ended. */

export const ORG = '20001'
export const OTHER = '20002'
export const THIRD = '20003'
export const T = 1_700_000_000_000

/** A clock that stands still until the test moves it. */
export function clock(start = T) {
  let now = start
  return {
    now: () => now,
    set(at: number) {
      now = at
    },
  }
}

/** The refusal an acquire ends with (a slot taken instead fails the test). */
export async function refusal(attempt: Promise<unknown>): Promise<BudgetRefused> {
  try {
    await attempt
  } catch (err) {
    if (err instanceof BudgetRefused) return err
    throw err
  }
  throw new Error('expected a refusal, got a slot')
}

/** Whether an acquire got a slot (true) or was refused (false). */
export const taken = (attempt: Promise<unknown>): Promise<boolean> =>
  attempt.then(
    () => true,
    (err) => {
      if (err instanceof BudgetRefused) return false
      throw err
    },
  )

export const limits = (overrides: Partial<BudgetLimits>): BudgetLimits => ({
  requestsPerMinute: 100,
  maxConcurrency: 10,
  waitMs: 0,
  ...overrides,
})
