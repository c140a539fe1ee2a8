import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { createLocalCases } from '../adapters/local/cases.js'
import { createLocalDeliveries, createLocalOutbox } from '../adapters/local/outbox.js'
import { createRedisCases } from '../adapters/redis/cases.js'
import { createRedisDeliveries, createRedisOutbox } from '../adapters/redis/outbox.js'
import type { Config } from '../config.js'
import { CASE_EVENTS, type Case, type CaseEventKind, type CaseStep } from '../domain/case.js'
import { createCallbacks, type Delivery } from '../services/callbacks.js'
import { type CaseService, createCaseService } from '../services/cases.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Credit cases: held orders, their releases and rejections, and the callbacks that tell callers. */
    cases: CaseService
    /** A case's callback deliveries: event, state, attempts, last result. */
    caseDeliveries(caseId: string): Promise<Delivery[]>
  }
}

/** How often the worker looks for due callbacks, the first retry's delay, and a lease (tests shorten them). */
export interface CaseTiming {
  tickMs: number
  backoffMs: number
  leaseMs: number
  /** How often open cases are looked at: expired, counted (default a minute). */
  sweepMs: number
}

/**
 * Cases and their callbacks. The worker (one timer, owned here, stopped on close) sends the due
 * callbacks every `tickMs` and expires open cases once a minute; every instance runs it, and the
 * outbox's lease makes each event one instance's.
 */
/** Release limits by key name, person or role. */
const limitsOf = (list: readonly { name: string; value: number }[]) => new Map(list.map(({ name, value }) => [name, value]))

const casesPlugin: FastifyPluginAsync<{ config: Config; timing?: Partial<CaseTiming> | undefined }> = async (app, { config, timing }) => {
  const registers = [app.metrics.registry]
  const transitions = new Counter({
    name: 'creditgate_case_transitions_total',
    help: 'Case transitions by event (opened, updated, released, rejected, expired, reopened, cleared)',
    labelNames: ['event'],
    registers,
  })
  for (const event of CASE_EVENTS) transitions.inc({ event }, 0)
  const deliveries = new Counter({
    name: 'creditgate_callbacks_total',
    help: 'Callback deliveries by result: delivered (2xx), failed (retried later), gave_up (24 h of failures or unsent, no URL for the caller, or a full in-process outbox)',
    labelNames: ['result'],
    registers,
  })
  for (const result of ['delivered', 'failed', 'gave_up']) deliveries.inc({ result }, 0)
  const openCases = new Gauge({
    name: 'creditgate_cases_open',
    help: 'Open cases (held orders waiting for a person), as of the last sweep',
    registers,
  })
  const oldestOpen = new Gauge({
    name: 'creditgate_case_oldest_open_seconds',
    help: 'Age of the oldest open case, as of the last sweep (0: none open)',
    registers,
  })
  const log = app.log.child({ component: 'cases' })
  const callbacks = createCallbacks({
    store: app.shared.store({ local: createLocalOutbox, redis: (link) => createRedisOutbox(link, createLocalOutbox()) }),
    deliveries: app.shared.store({ local: createLocalDeliveries, redis: (link) => createRedisDeliveries(link, createLocalDeliveries()) }),
    targets: (org) => app.zoho.settings(org).callbacks,
    backoffMs: timing?.backoffMs,
    leaseMs: timing?.leaseMs,
    onResult: (result, event, detail, attempts) => {
      deliveries.inc({ result })
      // The event id and the caller's name only: never the URL's query or the secret.
      const line = { event_id: event.id, caller: event.caller, attempts, detail }
      if (result === 'delivered') log.info(line, 'callback delivered')
      else log.warn(line, result === 'failed' ? 'callback failed, will retry' : 'callback given up')
    },
  })
  const localCases = createLocalCases()
  const cases = createCaseService({
    store: app.shared.store({ local: () => localCases, redis: (link) => createRedisCases(link, localCases) }),
    policy: { expireDays: config.cases.expireDays, releaseValidDays: config.cases.releaseValidDays, tolerance: config.cases.tolerance },
    limits: (org) => limitsOf(app.zoho.settings(org).releaseLimits),
    organizations: () => app.zoho.organizations,
    rules: (org) => app.rules.for(org).current(),
    onEvent: (kind, c) => {
      transitions.inc({ event: kind })
      const last = c.history.at(-1)
      log.info({ case_id: c.case_id, event: kind, state: c.state, by: last?.by }, 'case event')
      if (kind !== 'updated' && last) app.audit.record(auditEntry(kind, c, last))
      if (kind !== 'updated')
        callbacks.enqueue(kind, c).catch((err) => log.error({ err, case_id: c.case_id }, 'queueing a callback failed'))
    },
    onError: (err) => log.warn({ err }, 'cases unavailable: the decision is answered as the rules made it'),
  })
  app.decorate('cases', cases)
  app.decorate('caseDeliveries', callbacks.deliveries)

  let lastSweep = 0
  const work = async () => {
    await callbacks.tick()
    if (Date.now() - lastSweep < (timing?.sweepMs ?? 60_000)) return
    lastSweep = Date.now()
    const { open, oldestOpenedMs } = await cases.sweep()
    openCases.set(open)
    oldestOpen.set(oldestOpenedMs === undefined ? 0 : Math.max(0, (Date.now() - oldestOpenedMs) / 1000))
  }
  let running: Promise<void> | undefined
  const timer = setInterval(() => {
    running ??= work()
      .catch((err) => log.warn({ err }, 'the cases worker failed; it tries again'))
      .finally(() => {
        running = undefined
      })
  }, timing?.tickMs ?? 1000)
  timer.unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await running
  })
}

/** A case transition as the audit trail keeps it. */
const auditEntry = (kind: Exclude<CaseEventKind, 'updated'>, c: Case, last: CaseStep) => ({
  kind: `case.${kind}` as const,
  by: last.by,
  ...(last.actor ? { actor: last.actor } : {}),
  organization_id: c.organization_id,
  contact_id: c.contact_id,
  case_id: c.case_id,
  ...(last.decision_id ? { decision_id: last.decision_id } : {}),
  reason: last.reason,
  detail:
    c.release && kind === 'released'
      ? `order ${c.order.reference}: released up to ${c.release.amount} until ${c.release.valid_until}`
      : `order ${c.order.reference} of ${c.order.amount}`,
})

export default fp(casesPlugin, { name: 'cases', dependencies: ['metrics', 'redis', 'zoho', 'rules', 'audit'] })
