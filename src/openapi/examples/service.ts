import { RULES_VERSION } from './decisions.js'
import { type Example, ex } from './example.js'

const INVALIDATED = { invalidated: [{ organization_id: '10234695', contact_id: '460000000026049' }] }

/** Examples by operationId and status: health, metrics, the problem pages, cache invalidation. */
export const SERVICE_OPERATIONS: Record<string, Record<string, Record<string, Example>>> = {
  getHealth: { '200': { ok: ex('the process runs', { status: 'ok' }) } },
  getReadiness: {
    '200': {
      ready: ex('ready', {
        status: 'ready',
        checks: {
          rules: { ok: true, degraded: false, detail: `4 rules, ${RULES_VERSION}` },
          redis: { ok: true, detail: 'connected; 3 instances sharing it' },
          zoho: { ok: true, detail: 'data centre eu' },
        },
      }),
      degraded: ex('serving, with Redis unreachable', {
        status: 'degraded',
        checks: {
          rules: { ok: true, degraded: false, detail: `4 rules, ${RULES_VERSION}` },
          redis: { ok: true, degraded: true, detail: 'unreachable: serving from the in-process cache and budget' },
          zoho: { ok: true, detail: 'data centre eu' },
        },
      }),
    },
    '503': {
      not_ready: ex('shutting down', {
        status: 'not_ready',
        checks: { rules: { ok: true, detail: `4 rules, ${RULES_VERSION}` }, shutdown: { ok: false, detail: 'shutting down' } },
      }),
    },
  },
  getMetrics: {
    '200': {
      metrics: ex(
        'an excerpt',
        '# HELP creditgate_decisions_total Decisions by outcome\n# TYPE creditgate_decisions_total counter\ncreditgate_decisions_total{decision="block"} 12\ncreditgate_decisions_total{decision="allow"} 230\n',
      ),
    },
  },
  purgeContactCache: { '200': { purged: ex('forgotten by every instance', INVALIDATED) } },
  listProblems: { '200': { page: ex('the index (abridged)', '<!doctype html>…<h1>Problems creditgate reports</h1>…') } },
  getProblem: { '200': { page: ex('/problems/contact_not_found (abridged)', '<!doctype html>…<h1>Contact not found</h1>…') } },
  zohoWebhook: { '200': { invalidated: ex('invalidated in the organization named', INVALIDATED) } },
}

export const SERVICE_REQUESTS: Record<string, Record<string, Record<string, Example>>> = {
  zohoWebhook: {
    'application/json': {
      contact_id: ex('the contact id', { contact_id: '460000000026049', organization_id: '10234695' }),
      contact: ex('a contact object (only its id is used)', {
        contact: { contact_id: '460000000026049', contact_name: 'Acme Retail Pvt Ltd' },
      }),
    },
    'application/x-www-form-urlencoded': {
      form: ex('a form field', { contact_id: '460000000026049' }),
    },
  },
}
