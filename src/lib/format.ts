const amountFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })

/** 62400 → "62,400.00": amounts as the decision messages show them. */
export const formatAmount = (n: number) => amountFormat.format(n)
