/** The scales a sum is worked in: whole units, then tenths, hundredths … up to 10^-9. */
const MAX_SCALE = 1e9

/**
 * a + b + … as the decimals the values are written as. Floating point makes 38,000 + 2,000.005
 * 40,000.004999999997, and rounding that to cents made an order 0.005 over a credit limit of
 * 40,000 come out at 40,000.00, under it. Here each value is taken in whole units of the fewest
 * decimals that write all of them (at most nine), the integers are added exactly and the total
 * scaled back once, so the sum is the number nearest the exact decimal sum and compares with a
 * limit as that decimal would. Values with more decimals, or too large for that, are added as
 * floating point numbers.
 */
export function exactSum(...values: readonly number[]): number {
  let scale = 1
  for (const value of values) {
    while (Math.round(value * scale) / scale !== value) {
      scale *= 10
      if (scale > MAX_SCALE) return floatSum(values)
    }
  }
  let total = 0
  for (const value of values) {
    const units = Math.round(value * scale)
    if (!Number.isSafeInteger(units)) return floatSum(values)
    total += units
  }
  return Number.isSafeInteger(total) ? total / scale : floatSum(values)
}

function floatSum(values: readonly number[]): number {
  let total = 0
  for (const value of values) total += value
  return total
}
