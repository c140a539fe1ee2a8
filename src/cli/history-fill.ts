import { Redis } from 'ioredis'
import { APPEND_BATCH, appendArgs } from '../adapters/redis/history.js'
import { type DecisionRecord, newDecisionId } from '../domain/history.js'

/**
 * A day of a busy organization's decisions, made up for the bench and the backtest tests:
 * 2,000 customers owing (customer × 40) each, five order sizes, one decision a millisecond,
 * decided by the shipped 50,000 threshold. Customers 1001…1250 owe more than 40,000 and at
 * most 50,000.
 */
export function syntheticDecision(i: number, at: number, org: string): DecisionRecord {
  const customer = i % 2000
  const owed = customer * 40
  const order = [0, 500, 1500, 5000, 20000][i % 5] as number
  const contactId = `4600000${String(customer).padStart(8, '0')}`
  const blocked = owed > 50000
  return {
    decision_id: newDecisionId(at),
    organization_id: org,
    contact_id: contactId,
    caller: 'shop',
    order: { amount: order },
    facts: {
      contact_id: contactId,
      contact_name: `Customer ${customer}`,
      contact_type: 'customer',
      status: 'active',
      currency_code: 'INR',
      base_currency: 'INR',
      outstanding_bcy: owed,
      unused_credits_bcy: 0,
      credit_limit: null,
      order_amount: order,
      exposure_bcy: owed + order,
      available_credit_bcy: null,
      payment_terms: 30,
      contact_age_seconds: 5,
      custom_fields: {},
      overdue_bcy: 0,
      oldest_overdue_days: 0,
      overdue_invoices: 0,
      overdue_ratio: 0,
      open_orders_bcy: 0,
      reserved_bcy: 0,
      exposure_with_orders_bcy: owed + order,
      paid_invoices_12m: 0, // the shipped rules read payment facts: nothing paid in the 12 months
      avg_days_to_pay_12m: null,
      avg_days_late_12m: null,
      weighted_days_late_12m: null,
      days_late_trend: null,
      credit_review_overdue_days: null,
      credit_limit_expired: false,
      credit_limit_utilization: null,
      group_exposure_bcy: null,
    },
    rules_version: 'sha256:synthetic',
    decision: blocked ? 'block' : 'allow',
    reasons: blocked
      ? [
          {
            rule: 'outstanding-over-50000',
            code: 'OUTSTANDING_OVER_LIMIT',
            severity: 'block',
            message: `Outstanding receivables exceed 50,000.00`,
          },
        ]
      : [],
    alerts: [],
    evaluated_at: new Date(at).toISOString(),
  }
}

/** Writes `count` synthetic decisions of the last `count` milliseconds into Redis, as creditgate records them. */
export async function fillRedisHistory(url: string, org: string, count: number): Promise<void> {
  const client = new Redis(url)
  client.on('error', () => {}) // a failed pipeline below says what went wrong
  try {
    const start = Date.now() - count
    for (let from = 0; from < count; from += 5000) {
      const pipeline = client.pipeline()
      for (let at = from; at < Math.min(count, from + 5000); at += APPEND_BATCH) {
        const entries = Array.from({ length: Math.min(APPEND_BATCH, count - at) }, (_, k) => {
          const record = syntheticDecision(at + k, start + at + k, org)
          const entry = { decisionId: record.decision_id, atMs: start + at + k, contactId: record.contact_id, decision: record.decision }
          return { ...entry, json: JSON.stringify(record) }
        })
        pipeline.eval(...(appendArgs(org, count, entries) as [string, number, ...(string | number)[]]))
      }
      const results = await pipeline.exec()
      const failed = results?.find(([err]) => err)
      if (failed) throw failed[0]
    }
  } finally {
    client.disconnect()
  }
}

export interface BacktestTiming {
  readonly status: number
  readonly body: unknown
  readonly elapsedMs: number
  /** /healthz round trips while the backtest ran, one every 5 ms. */
  readonly probes: number
  readonly healthzP99Ms: number
}

/** POST /rules/backtest on a running service, probing /healthz meanwhile (the bench and the backtest test). */
export async function timeBacktest(base: string, adminKey: string, body: unknown): Promise<BacktestTiming> {
  const latencies: number[] = []
  let running = true
  const probe = (async () => {
    while (running) {
      const t0 = performance.now()
      await (await fetch(`${base}/healthz`)).arrayBuffer()
      latencies.push(performance.now() - t0)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  const t0 = performance.now()
  const res = await fetch(`${base}/rules/backtest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = await res.json()
  const elapsedMs = performance.now() - t0
  running = false
  await probe
  latencies.sort((a, b) => a - b)
  return {
    status: res.status,
    body: answer,
    elapsedMs,
    probes: latencies.length,
    healthzP99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? Number.POSITIVE_INFINITY,
  }
}
