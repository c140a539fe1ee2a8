import t, { type Test } from 'tap'
import type { ContactFault } from '../../src/sandbox/sandbox.js'
import { ORG, problem, startApp, startSandbox } from '../helpers/app.js'

/**
 * A stale copy answers only when Zoho cannot answer (down, timed out, rate limited, budget spent).
 * When Zoho does answer — the contact is gone, the organization or our credentials are refused,
 * the body cannot be read — that answer stands: a cached "allow" must never hide it.
 *
 * CONTACT_CACHE_TTL_SECONDS=0 makes every cached copy stale at once, so each case below has a
 * stale copy at hand when Zoho is asked again.
 */
const BLOCKED = '460000000026049'

async function withStaleCopy(t: Test) {
  const sandbox = await startSandbox(t)
  const { app } = await startApp(t, sandbox, { env: { CONTACT_CACHE_TTL_SECONDS: '0' } })
  const url = `/contacts/${BLOCKED}/risk`
  const first = await app.inject({ url })
  t.equal(first.json().contact.source, 'zoho', 'a copy is cached')
  return { sandbox, app, url }
}

const refusals: { name: string; fault: ContactFault | 'deleted' | 'token-refused'; status: number; code: string }[] = [
  { name: 'the contact no longer exists (404, code 1002)', fault: 'deleted', status: 404, code: 'contact_not_found' },
  {
    name: 'the organization is refused (400, code 6041)',
    fault: { status: 400, body: { code: 6041, message: 'This user is not associated with the CompanyID/CompanyName:10234695.' } },
    status: 502,
    code: 'upstream_error',
  },
  {
    name: 'the organization is refused (403, code 6041)',
    fault: { status: 403, body: { code: 6041, message: 'This user is not associated with the CompanyID/CompanyName:10234695.' } },
    status: 502,
    code: 'upstream_error',
  },
  { name: 'our credentials are refused, also after a refresh (401, code 57)', fault: 'token-refused', status: 502, code: 'upstream_error' },
  { name: 'the body cannot be read', fault: { status: 200, body: '<html>Login</html>' }, status: 502, code: 'upstream_error' },
  {
    name: 'the contact cannot be read (no outstanding amount)',
    fault: { status: 200, body: { code: 0, message: 'success', contact: { contact_id: BLOCKED, contact_name: 'x', status: 'active' } } },
    status: 502,
    code: 'upstream_error',
  },
]

for (const refusal of refusals) {
  t.test(`no stale copy when ${refusal.name}`, async (t) => {
    const { sandbox, app, url } = await withStaleCopy(t)
    if (refusal.fault === 'deleted') sandbox.organizations.get(ORG)?.delete(BLOCKED)
    else if (refusal.fault === 'token-refused') {
      const refused = { status: 401, body: { code: 57, message: 'You are not authorized to perform this operation' } }
      sandbox.faults.contact.push(refused, refused)
    } else sandbox.faults.contact.push(refusal.fault)
    const res = await app.inject({ url })
    problem(t, res, refusal.status, refusal.code)
  })
}

t.test('the stale copy answers, flagged, when Zoho is down', async (t) => {
  const { sandbox, app, url } = await withStaleCopy(t)
  sandbox.faults.down = true
  const res = await app.inject({ url })
  t.equal(res.statusCode, 200)
  t.equal(res.json().contact.source, 'stale')
  t.equal(res.json().decision, 'block')
})

t.test('the stale copy answers when Zoho rate limits the organization', async (t) => {
  const { sandbox, app, url } = await withStaleCopy(t)
  sandbox.faults.contact.push({ status: 429, body: { code: 44, message: 'too many requests' } })
  const res = await app.inject({ url })
  t.equal(res.statusCode, 200)
  t.equal(res.json().contact.source, 'stale')
})
