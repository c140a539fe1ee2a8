import pino from 'pino'
import t from 'tap'
import { createLocalBudget } from '../../src/adapters/local/budget.js'
import { createLocalTokens } from '../../src/adapters/local/tokens.js'
import { createZohoBooks } from '../../src/adapters/zoho/books.js'
import { BudgetRefused } from '../../src/adapters/zoho/ports.js'
import { createTokenMinter } from '../../src/adapters/zoho/tokens.js'
import { isProblem, type Problem } from '../../src/errors.js'
import { listedInvoice, SANDBOX_CREDENTIALS, zohoContact } from '../../src/sandbox/contacts.js'
import type { Sandbox } from '../../src/sandbox/sandbox.js'
import { ORG, startSandbox } from '../helpers/app.js'

const silent = pino({ level: 'silent' })

function adapter(
  sandbox: Sandbox,
  options: { timeoutMs?: number; requestsPerMinute?: number; maxConcurrency?: number; now?: () => number } = {},
) {
  const timeoutMs = options.timeoutMs ?? 2000
  const tokens = createLocalTokens(
    createTokenMinter({ accountsUrl: sandbox.accountsUrl, credentials: SANDBOX_CREDENTIALS, timeoutMs, now: options.now }),
    options.now,
  )
  const budget = createLocalBudget({
    requestsPerMinute: options.requestsPerMinute ?? 100,
    maxConcurrency: options.maxConcurrency ?? 10,
    waitMs: timeoutMs,
  })
  const zoho = createZohoBooks({ apiBaseUrl: sandbox.apiBaseUrl, timeoutMs, tokens, budget, log: silent, backoffMs: 5 })
  return { zoho, tokens, budget }
}

async function problemOf(promise: Promise<unknown>): Promise<Problem> {
  try {
    await promise
  } catch (err) {
    if (isProblem(err)) return err
    throw err
  }
  throw new Error('expected a problem, got a result')
}

t.test('fetches a contact with a 19-digit id, kept as a string', async (t) => {
  const sandbox = await startSandbox(t)
  const { zoho } = adapter(sandbox)
  const contact = await zoho.fetchContact(ORG, '4600000000000310071')
  t.equal(contact.contact_id, '4600000000000310071')
  t.equal(contact.outstanding_receivable_amount_bcy, 1500)
  t.equal(contact.currency_id, '460000000000099', 'other ids stay strings')
  t.equal(contact.exchange_rate, '', 'unknown keys and "" values are kept')
  t.ok(Object.keys(contact).length >= 95, 'every key of the real contact is kept')
  t.equal(sandbox.stats.tokenCalls, 1)
  t.equal(sandbox.stats.contactCalls, 1)
})

t.test('ids Zoho prints as JSON numbers survive beyond 2^53', async (t) => {
  const sandbox = await startSandbox(t)
  const { zoho } = adapter(sandbox)
  const contact = JSON.stringify({ code: 0, message: 'success', contact: zohoContact('4600000000000310071', 'Numeric Ids') })
    .replace('"contact_id":"4600000000000310071"', '"contact_id": 4600000000000310071')
    .replace('"currency_id":"460000000000099"', '"currency_id":9007199254740993')
  sandbox.faults.contact.push({ status: 200, body: contact })
  const parsed = await zoho.fetchContact(ORG, '4600000000000310071')
  t.equal(parsed.contact_id, '4600000000000310071')
  t.equal(parsed.currency_id, '9007199254740993')
})

t.test('the access token is cached and sent as Zoho-oauthtoken', async (t) => {
  const sandbox = await startSandbox(t)
  const { zoho } = adapter(sandbox)
  await Promise.all([zoho.fetchContact(ORG, '460000000031001'), zoho.fetchContact(ORG, '460000000031002')])
  await zoho.fetchContact(ORG, '460000000031003')
  t.equal(sandbox.stats.tokenCalls, 1, 'one token for concurrent and later calls')
  t.equal(sandbox.stats.byStatus.get(200), 4, 'token + 3 contacts answered 200 (the sandbox rejects any other header form)')
})

t.test('a token is refreshed shortly before it expires', async (t) => {
  const sandbox = await startSandbox(t, { tokenTtlSeconds: 3600 })
  let clock = 1_000_000
  const { zoho } = adapter(sandbox, { now: () => clock })
  await zoho.fetchContact(ORG, '460000000031001')
  clock += 54 * 60_000
  await zoho.fetchContact(ORG, '460000000031001')
  t.equal(sandbox.stats.tokenCalls, 1, 'still used at 54 minutes')
  clock += 2 * 60_000
  await zoho.fetchContact(ORG, '460000000031001')
  t.equal(sandbox.stats.tokenCalls, 2, 'refreshed within the last 5 minutes of its hour')
})

t.test('a rejected token (401, code 57) is refreshed once and the call retried', async (t) => {
  const sandbox = await startSandbox(t)
  const { zoho } = adapter(sandbox)
  await zoho.fetchContact(ORG, '460000000031001')
  sandbox.revokeTokens()
  const contact = await zoho.fetchContact(ORG, '460000000031001')
  t.equal(contact.contact_name, 'Bright Foods')
  t.equal(sandbox.stats.tokenCalls, 2)
  t.equal(sandbox.stats.byStatus.get(401), 1)
})

t.test('code 57 again after a refresh is upstream_error', async (t) => {
  const sandbox = await startSandbox(t)
  const { zoho } = adapter(sandbox)
  const denied = { status: 401, body: { code: 57, message: 'You are not authorized to perform this operation' } }
  sandbox.faults.contact.push(denied, denied)
  const problem = await problemOf(zoho.fetchContact(ORG, '460000000031001'))
  t.equal(problem.code, 'upstream_error')
  t.match(problem.detail, /scopes ZohoBooks\.contacts\.READ, invoices\.READ and salesorders\.READ/)
  t.equal(sandbox.stats.tokenCalls, 2, 'exactly one refresh')
  t.equal(sandbox.stats.contactCalls, 2)
})

t.test('Zoho errors map to creditgate problems, and 4xx never retry', async (t) => {
  const cases: { name: string; fault?: { status: number; body: unknown }; org?: string; id?: string; code: string; detail: RegExp }[] = [
    {
      name: 'unknown contact (404, code 1002)',
      id: '460000000099999',
      code: 'contact_not_found',
      detail: /460000000099999 does not exist/,
    },
    {
      name: 'code 2 (400)',
      fault: { status: 400, body: { code: 2, message: 'Invalid value passed for contact_id' } },
      code: 'contact_not_found',
      detail: /does not exist/,
    },
    {
      name: 'code 1002 as 400',
      fault: { status: 400, body: { code: 1002, message: 'Contact does not exist.' } },
      code: 'contact_not_found',
      detail: /does not exist/,
    },
    {
      name: 'organization not accessible (6041)',
      org: '99999999',
      code: 'upstream_error',
      detail: /organization 99999999 is not accessible.*6041/,
    },
    {
      name: 'organization not accessible (6024)',
      fault: { status: 400, body: { code: 6024, message: 'Organization does not exist' } },
      code: 'upstream_error',
      detail: new RegExp(`organization ${ORG} is not accessible.*6024`),
    },
    {
      name: 'wrong URL (404, code 5)',
      fault: { status: 404, body: { code: 5, message: 'Invalid URL Passed' } },
      code: 'upstream_error',
      detail: /HTTP 404 with code 5/,
    },
    {
      name: 'a 200 whose code is not 0',
      fault: { status: 200, body: { code: 1000, message: 'Internal Error' } },
      code: 'upstream_error',
      detail: /HTTP 200 with code 1000/,
    },
    { name: 'an unreadable body', fault: { status: 200, body: '<html>oops</html>' }, code: 'upstream_error', detail: /unreadable body/ },
    {
      name: 'a contact without its balance',
      fault: {
        status: 200,
        body: { code: 0, contact: { contact_id: '1', contact_name: 'x', status: 'active', outstanding_receivable_amount_bcy: '' } },
      },
      code: 'upstream_error',
      detail: /outstanding_receivable_amount_bcy/,
    },
    {
      name: 'daily limit (429, code 45)',
      fault: { status: 429, body: { code: 45, message: 'daily limit' } },
      code: 'upstream_unavailable',
      detail: /rate limited.*code 45/,
    },
    {
      name: 'concurrency limit (429, code 1070)',
      fault: { status: 429, body: { code: 1070, message: 'concurrent' } },
      code: 'upstream_unavailable',
      detail: /code 1070/,
    },
  ]
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const sandbox = await startSandbox(t)
      const { zoho } = adapter(sandbox)
      if (c.fault) sandbox.faults.contact.push(c.fault)
      const problem = await problemOf(zoho.fetchContact(c.org ?? ORG, c.id ?? '460000000031001'))
      t.equal(problem.code, c.code)
      t.match(problem.detail, c.detail)
      t.equal(sandbox.stats.contactCalls, 1, 'called once: no retry')
      if (c.code === 'upstream_unavailable') t.ok((problem.retryAfterSeconds ?? 0) > 0, 'carries Retry-After')
    })
  }
})

t.test('429 code 44 pauses the whole organization', async (t) => {
  const sandbox = await startSandbox(t)
  const { zoho } = adapter(sandbox)
  sandbox.faults.contact.push({ status: 429, body: { code: 44, message: 'too many requests per minute' } })
  const first = await problemOf(zoho.fetchContact(ORG, '460000000031001'))
  t.equal(first.code, 'upstream_unavailable')
  t.equal(first.retryAfterSeconds, 60, 'a minute when Zoho sends no Retry-After')
  const second = await problemOf(zoho.fetchContact(ORG, '460000000031002'))
  t.equal(second.code, 'upstream_unavailable')
  t.match(second.detail, /back off/)
  t.equal(sandbox.stats.contactCalls, 1, 'no call left while paused')
})

t.test('5xx retries a bounded number of times, then succeeds or gives up', async (t) => {
  t.test('two 500s then success', async (t) => {
    const sandbox = await startSandbox(t)
    const { zoho } = adapter(sandbox)
    sandbox.faults.contact.push({ status: 500, body: { code: 1000, message: 'Internal Error' } }, { status: 503, body: 'busy' })
    const contact = await zoho.fetchContact(ORG, '460000000031001')
    t.equal(contact.contact_name, 'Bright Foods')
    t.equal(sandbox.stats.contactCalls, 3)
  })
  t.test('always 500: three attempts, then upstream_unavailable', async (t) => {
    const sandbox = await startSandbox(t)
    const { zoho } = adapter(sandbox)
    for (let i = 0; i < 5; i++) sandbox.faults.contact.push({ status: 500, body: { code: 1000, message: 'Internal Error' } })
    const problem = await problemOf(zoho.fetchContact(ORG, '460000000031001'))
    t.equal(problem.code, 'upstream_unavailable')
    t.match(problem.detail, /after 3 attempts \(HTTP 500 code 1000\)/)
    t.equal(problem.retryAfterSeconds, 5)
    t.equal(sandbox.stats.contactCalls, 3)
  })
  t.test('dropped connections retry too', async (t) => {
    const sandbox = await startSandbox(t)
    const { zoho } = adapter(sandbox)
    sandbox.faults.contact.push({ destroy: true })
    t.equal((await zoho.fetchContact(ORG, '460000000031001')).contact_name, 'Bright Foods')
    t.equal(sandbox.stats.contactCalls, 2)
  })
})

t.test('timeouts (ZOHO_TIMEOUT_MS) retry a bounded number of times', async (t) => {
  const sandbox = await startSandbox(t)
  const { zoho } = adapter(sandbox, { timeoutMs: 150 })
  sandbox.faults.contact.push({ hang: true }, { hang: true }, { hang: true })
  const started = Date.now()
  const problem = await problemOf(zoho.fetchContact(ORG, '460000000031001'))
  t.equal(problem.code, 'upstream_unavailable')
  t.match(problem.detail, /timed out after 150 ms/)
  t.equal(sandbox.stats.contactCalls, 3)
  t.ok(Date.now() - started < 3000, 'gave up in bounded time')
})

t.test('token endpoint errors that arrive as HTTP 200', async (t) => {
  const cases = [
    { body: { error: 'invalid_client' }, code: 'upstream_error', detail: /invalid_client/ },
    { body: { error: 'invalid_code' }, code: 'upstream_error', detail: /invalid_code/ },
    { body: { error: 'Access Denied', error_description: 'too many requests' }, code: 'upstream_unavailable', detail: /throttling/ },
    { body: { token_type: 'Bearer' }, code: 'upstream_error', detail: /no access_token/ },
  ]
  for (const c of cases) {
    const sandbox = await startSandbox(t)
    const { zoho } = adapter(sandbox)
    sandbox.faults.token.push({ body: c.body })
    const problem = await problemOf(zoho.fetchContact(ORG, '460000000031001'))
    t.equal(problem.code, c.code, JSON.stringify(c.body))
    t.match(problem.detail, c.detail)
    t.notMatch(problem.detail, SANDBOX_CREDENTIALS.clientSecret, 'no secret in the message')
    t.equal(sandbox.stats.contactCalls, 0, 'no contact call without a token')
  }
})

t.test('wrong client credentials are an upstream_error from the real token endpoint', async (t) => {
  const sandbox = await startSandbox(t)
  const tokens = createLocalTokens(
    createTokenMinter({
      accountsUrl: sandbox.accountsUrl,
      credentials: { ...SANDBOX_CREDENTIALS, clientSecret: 'wrong-secret-wrong-secret' },
      timeoutMs: 1000,
    }),
  )
  const problem = await problemOf(tokens.get())
  t.equal(problem.code, 'upstream_error')
  t.match(problem.detail, /invalid_client/)
})

t.test('never more than 10 token mints per 10 minutes', async (t) => {
  const sandbox = await startSandbox(t, { mintsPerWindow: 100 })
  const { zoho } = adapter(sandbox)
  for (let i = 0; i < 10; i++) {
    sandbox.revokeTokens()
    await zoho.fetchContact(ORG, '460000000031001')
  }
  t.equal(sandbox.stats.tokenCalls, 10)
  sandbox.revokeTokens()
  const problem = await problemOf(zoho.fetchContact(ORG, '460000000031001'))
  t.equal(problem.code, 'upstream_unavailable')
  t.match(problem.detail, /10 token refreshes per 10 minutes/)
  t.ok((problem.retryAfterSeconds ?? 0) > 500, 'retry after the oldest mint leaves the window')
  t.equal(sandbox.stats.tokenCalls, 10, 'the eleventh mint never left')
})

t.test('the budget caps calls per minute and in flight', async (t) => {
  t.test('per minute', async (t) => {
    const sandbox = await startSandbox(t)
    const { zoho } = adapter(sandbox, { requestsPerMinute: 3 })
    for (const id of ['460000000031001', '460000000031002', '460000000031003']) await zoho.fetchContact(ORG, id)
    const problem = await problemOf(zoho.fetchContact(ORG, '460000000031004'))
    t.equal(problem.code, 'upstream_unavailable')
    t.match(problem.detail, /budget of 3 calls per minute is spent/)
    t.ok((problem.retryAfterSeconds ?? 0) >= 59, 'Retry-After until the oldest call leaves the minute')
    t.equal(sandbox.stats.contactCalls, 3)
  })
  t.test('in flight', async (t) => {
    const sandbox = await startSandbox(t)
    const { zoho } = adapter(sandbox, { maxConcurrency: 2 })
    sandbox.faults.latencyMs = 30
    const ids = ['460000000031001', '460000000031002', '460000000031003', '460000000031004', '460000000031005', '460000000031006']
    const contacts = await Promise.all(ids.map((id) => zoho.fetchContact(ORG, id)))
    t.same(
      contacts.map((c) => c.contact_id),
      ids,
    )
    t.equal(sandbox.stats.maxInFlight, 2, 'never more than 2 at once; the others waited')
  })
})

t.test('a background listing the budget interrupts waits and goes on from the same page', async (t) => {
  const invoices = Array.from({ length: 1000 }, (_, i) =>
    listedInvoice(`46000009${String(i).padStart(8, '0')}`, '460000000031001', { dueInDays: 10, balance: 100 + i }, Date.now()),
  )
  const sandbox = await startSandbox(t, { documents: new Map([[ORG, { invoices, salesorders: [] }]]) })
  const { zoho, budget } = adapter(sandbox)
  const acquire = budget.acquire.bind(budget)
  const pages = () => sandbox.stats.byList.get('invoices') ?? 0
  t.equal((await zoho.listOpenInvoices(ORG, { background: true })).length, 1000)
  t.equal(pages(), 5, 'five pages of 200')

  sandbox.resetStats()
  // The budget's own refusal at the third page: the minute's background calls are spent.
  let asked = 0
  budget.acquire = async (org, options) => {
    if (++asked === 3) throw new BudgetRefused(org, { ok: false, retryAfterMs: 30, reason: 'spent', limit: 2 })
    return acquire(org, options)
  }
  const resumed = await zoho.listOpenInvoices(ORG, { background: true })
  t.equal(resumed.length, 1000, 'every invoice, none twice')
  t.equal(new Set(resumed.map((invoice) => invoice.invoice_id)).size, 1000)
  t.equal(pages(), 5, 'pages 1 and 2 are not read again')

  asked = 0
  await t.rejects(zoho.listOpenInvoices(ORG), { code: 'upstream_unavailable' }, 'a decision’s listing does not wait')
  asked = 0
  budget.acquire = async (org, options) => {
    if (++asked === 2) throw new BudgetRefused(org, { ok: false, retryAfterMs: 10 * 60_000, reason: 'paused', limit: 0 })
    return acquire(org, options)
  }
  await t.rejects(zoho.listOpenInvoices(ORG, { background: true }), { code: 'upstream_unavailable' }, 'no wait beyond BACKGROUND_WAIT_MS')
})
