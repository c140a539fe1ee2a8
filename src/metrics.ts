import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/**
 * The service's Prometheus metrics. Each app has its own registry (tests build many apps in one
 * process); the process metrics (CPU, memory, event loop, GC) are collected once per process.
 */
let processRegistry: Registry | undefined

export function createMetrics() {
  processRegistry ??= (() => {
    const registry = new Registry()
    collectDefaultMetrics({ register: registry })
    return registry
  })()
  const registry = new Registry()
  const registers = [registry]
  const metrics = {
    registry,
    httpDuration: new Histogram({
      name: 'creditgate_http_request_duration_seconds',
      help: 'HTTP request duration by route, method and status',
      labelNames: ['route', 'method', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    decisions: new Counter({ name: 'creditgate_decisions_total', help: 'Decisions by outcome', labelNames: ['decision'], registers }),
    rulesFired: new Counter({
      name: 'creditgate_rule_fired_total',
      help: 'Rules that fired in decisions, by rule and type',
      labelNames: ['rule', 'type'],
      registers,
    }),
    contactLookups: new Counter({
      name: 'creditgate_contact_cache_total',
      help: 'Contact lookups: hit (fresh copy), miss (Zoho asked), stale (served while Zoho could not answer), not_found (cached)',
      labelNames: ['result'],
      registers,
    }),
    zohoCalls: new Counter({
      name: 'creditgate_zoho_calls_total',
      help: 'HTTP calls to Zoho Books by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    zohoDuration: new Histogram({
      name: 'creditgate_zoho_call_duration_seconds',
      help: 'Zoho Books call latency by outcome',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    budgetRejections: new Counter({
      name: 'creditgate_zoho_budget_rejections_total',
      help: 'Zoho calls not made because the per-organization budget was spent, Zoho asked us to pause, or too many were in flight',
      labelNames: ['reason'],
      registers,
    }),
    ruleReloads: new Counter({ name: 'creditgate_rule_reloads_total', help: 'Rule reloads by result', labelNames: ['result'], registers }),
    redisDegraded: new Gauge({ name: 'creditgate_redis_degraded', help: '1 while Redis is configured but unreachable', registers }),
    redisDegradations: new Counter({
      name: 'creditgate_redis_degraded_total',
      help: 'Times Redis became unreachable and the service fell back to its in-process cache and budget',
      registers,
    }),
    rulesInfo: new Gauge({
      name: 'creditgate_rules_info',
      help: 'The active rule set (label version)',
      labelNames: ['version'],
      registers,
    }),
    async text() {
      return (await Registry.merge([processRegistry as Registry, registry])).metrics()
    },
    contentType: registry.contentType,
  }
  return metrics
}

export type Metrics = ReturnType<typeof createMetrics>
