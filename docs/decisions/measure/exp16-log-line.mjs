import { pino } from 'pino'
import { loggerOptions, stdoutLog } from '../../../dist/lib/logging.js'
// CPU per decision log line: `plain` (pino's asynchronous sonic-boom, as before), `turn` (stdoutLog,
// a turn of the event loop's lines written at once), `mw4k` (sonic-boom with maxWrite 4096). Output goes to stdout:
// redirect it to /dev/null or a pipe (`| cat > /dev/null`).
const mode = process.argv[2] === 'turn' ? 'real' : process.argv[2] === 'plain' ? 'def' : process.argv[2]
const dest = pino.destination({ dest: 1, sync: false, ...(mode === 'mw4k' ? { maxWrite: 4096 } : {}) })
let target = dest
if (mode === 'real') target = stdoutLog()
const root = pino(loggerOptions('info'), target)
const log = root.child({ reqId: 'req-1' })
const cf = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`cf_field_${i}`, `value number ${i} of the custom fields`]))
const facts = { contact_id: '460000000026049', contact_name: 'Acme Retail Pvt Ltd', contact_type: 'customer', status: 'active', currency_code: 'INR', base_currency: 'INR', outstanding_bcy: 1234.5, unused_credits_bcy: 0, credit_limit: 50000, order_amount: 100, exposure_bcy: 1334.5, available_credit_bcy: 48665.5, payment_terms: 30, contact_age_seconds: 12, custom_fields: cf, overdue_bcy: 10, overdue_1_30_bcy: 0, overdue_31_60_bcy: 0, overdue_61_90_bcy: 0, overdue_90_plus_bcy: 0, open_orders_bcy: 100, exposure_with_orders_bcy: 1334.5, manual_hold: false, reserved_bcy: 0 }
const obj = () => ({ decision_id: '019ab5a1-6c2e-7f3a-9d41-2b7c5e8f0a13', contact_id: '460000000026049', organization_id: '10234695', decision: 'allow', reasons: [], alerts: ['APPLY_CREDITS'], rules_version: 'sha256:967be2b864317ef0ddc01cf40998cc4af8dcb84a36b4e7d724af6b311af46804', contact_source: 'cache', contact_age_seconds: 12, facts, order: { amount: 100 }, caller: 'shop', latency_ms: 1.23 })
const N = 200000
let i = 0
const t0 = process.cpuUsage()
await new Promise((resolve) => {
  const step = () => { for (let k = 0; k < 64 && i < N; k++, i++) log.info(obj(), 'decision'); if (i < N) setTimeout(step, 0); else resolve() }
  step()
})
await new Promise((r) => setTimeout(r, 50))
const c = process.cpuUsage(t0)
console.error(process.argv[2].padEnd(6), 'µs CPU per line', ((c.user + c.system) / N).toFixed(2))
