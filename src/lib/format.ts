const amountFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })

/** "1299" → "1300": one added to a string of digits. */
function increment(digits: string): string {
  let i = digits.length - 1
  while (i >= 0 && digits[i] === '9') i--
  return (i < 0 ? '1' : digits.slice(0, i) + String(Number(digits[i]) + 1)) + '0'.repeat(digits.length - 1 - i)
}

/**
 * 62400 → "62,400.00": amounts as the decision messages show them, exactly as Intl's en-US
 * format with two decimals writes them (it rounds the shortest decimal form half away from zero:
 * 1.005 → 1.01), without its cost on every message. Intl is left what amounts never are in
 * practice: negative, -0, huge, not finite, or written with an exponent.
 */
export function formatAmount(n: number): string {
  const text = String(n)
  if (!(n >= 0 && n < 1e15) || Object.is(n, -0) || text.includes('e')) return amountFormat.format(n)
  const point = text.indexOf('.')
  const int = point < 0 ? text : text.slice(0, point)
  const frac = point < 0 ? '' : text.slice(point + 1)
  let cents = int + `${frac}00`.slice(0, 2)
  if (frac.length > 2 && (frac[2] as string) >= '5') cents = increment(cents)
  let whole = cents.length - 2
  let out = `.${cents.slice(whole)}`
  for (; whole > 3; whole -= 3) out = `,${cents.slice(whole - 3, whole)}${out}`
  return (whole > 0 ? cents.slice(0, whole) : '0') + out
}

/** new Date(ms).toISOString(), remembered for the last instant asked about. */
export function isoTime(): (ms: number) => string {
  let last = Number.NaN
  let text = ''
  return (ms) => {
    if (ms !== last) {
      text = new Date(ms).toISOString()
      last = ms
    }
    return text
  }
}
