// Decision record 010: a payment pass over N paid invoices against the sandbox (real HTTP), and the
// pure computation on its own. Run after `npm run build`: node docs/decisions/measure/exp10-payments.mjs
import pino from 'pino'
import { createLocalPayments } from '../../../dist/adapters/local/payments.js'
import { createZohoBooks } from '../../../dist/adapters/zoho/books.js'
import { createLocalBudget } from '../../../dist/adapters/zoho/budget.js'
import { createLocalTokens, createTokenMinter } from '../../../dist/adapters/zoho/tokens.js'
import { PaidInvoiceSchema, paymentsByCustomer } from '../../../dist/domain/payments.js'
import { listedInvoice, SANDBOX_CREDENTIALS, SANDBOX_ORGANIZATION_ID as ORG } from '../../../dist/sandbox/contacts.js'
import { createSandbox } from '../../../dist/sandbox/sandbox.js'
import { createPaymentsService } from '../../../dist/services/payments.js'

const DAY = 86_400_000
const now = Date.now()
const paid = (n, customers) =>
  Array.from({ length: n }, (_, i) => {
    const due = -10 - (i % 300)
    return {
      ...listedInvoice(`46000001${String(i).padStart(10, '0')}`, `4600000${String(900 + (i % customers)).padStart(8, '0')}`, { dueInDays: due, balance: 0, total: 100 + (i % 50) }, now),
      status: 'paid',
      last_payment_date: new Date(now + (due + (i % 45)) * DAY).toISOString().slice(0, 10),
    }
  })

for (const [n, customers] of [[5000, 500], [20000, 2000]]) {
  const sandbox = createSandbox({ documents: new Map([[ORG, { invoices: paid(n, customers), salesorders: [] }]]) })
  await sandbox.listen(0)
  const zoho = createZohoBooks({
    apiBaseUrl: sandbox.apiBaseUrl,
    timeoutMs: 10_000,
    tokens: createLocalTokens(createTokenMinter({ accountsUrl: sandbox.accountsUrl, credentials: SANDBOX_CREDENTIALS, timeoutMs: 5000 })),
    // The default deployment's budget: 90 a minute, 23 kept for decisions, so 67 for background pages.
    budget: createLocalBudget({ requestsPerMinute: 90, maxConcurrency: 8, waitMs: 5000, reserve: 23 }),
    log: pino({ level: 'silent' }),
  })
  const store = createLocalPayments()
  const service = createPaymentsService({ source: zoho, store, refreshSeconds: 86_400, staleSeconds: 259_200, timeZone: 'UTC', log: pino({ level: 'silent' }), firstWaitMs: 300_000, inUse: () => true })
  const t0 = performance.now()
  await service.forCustomer(ORG, '460000000000900')
  const passMs = performance.now() - t0
  const snapshot = await store.read(ORG)
  const bytes = JSON.stringify({ as_of: snapshot.as_of, customers: Object.fromEntries(snapshot.customers) }).length
  const listed = paid(n * 2, customers * 2).map((i) => PaidInvoiceSchema.parse(i))
  const today = new Date(now).toISOString().slice(0, 10)
  const runs = []
  for (let r = 0; r < 5; r++) {
    const t1 = performance.now()
    paymentsByCustomer(listed, today)
    runs.push(performance.now() - t1)
  }
  runs.sort((a, b) => a - b)
  console.log(JSON.stringify({ invoices: n, customers, computed_for_invoices: n * 2, list_calls: sandbox.stats.listCalls, pass_ms: Math.round(passMs), compute_ms_median: Math.round(runs[2] * 10) / 10, snapshot_bytes: bytes }))
  service.stop()
  await sandbox.close()
}
