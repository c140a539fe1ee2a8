import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { Redis } from 'ioredis'

/** The part of @gorules/zen-engine the peer uses. */
interface ZenEngineModule {
  ZenEngine: new () => { createDecision(content: unknown): { evaluate(input: unknown): Promise<{ result: unknown }> } }
}

/**
 * @gorules/zen-engine is installed for the benchmark only (`npm run bench` says how): its
 * platform packages cannot all be written into package-lock.json from the registry this project
 * uses, and `npm ci` refuses a lock file without them.
 */
export const ZEN_ENGINE = '@gorules/zen-engine@0.54.0'

async function zenEngine(): Promise<ZenEngineModule> {
  const name: string = ZEN_ENGINE.slice(0, ZEN_ENGINE.lastIndexOf('@'))
  return (await import(name)) as ZenEngineModule
}

/**
 * The benchmark's peer: what a team would build without creditgate — fastify, the contact read
 * from Redis with one GET per request, and the four contact rules of creditgate's first release
 * (outstanding over 50,000, inactive contact, unused credits, credit limit with the order) as a
 * GoRules zen-engine decision table, messages formatted in JavaScript. No authentication, rate
 * limiting, decision log or metrics. BENCH_CONTACT_FILE holds the contact (stored in Redis at
 * start), REDIS_URL and PORT say where.
 */
const contact = readFileSync(process.env.BENCH_CONTACT_FILE as string, 'utf8')
const redis = new Redis(process.env.REDIS_URL as string)
await redis.set('peer:contact', contact)

const input = (field: string) => ({ id: field, name: field, field })
const output = (field: string) => ({ id: field, name: field, field })
const rule = (id: string, cells: Record<string, string>) => ({
  _id: id,
  outstanding_bcy: '',
  status: '',
  unused_credits_bcy: '',
  exposure_bcy: '',
  ...cells,
})
export const PEER_DECISION = {
  nodes: [
    { id: 'request', type: 'inputNode', name: 'request', position: { x: 0, y: 0 } },
    {
      id: 'rules',
      type: 'decisionTableNode',
      name: 'credit rules',
      position: { x: 200, y: 0 },
      content: {
        hitPolicy: 'collect',
        inputs: ['outstanding_bcy', 'status', 'unused_credits_bcy', 'exposure_bcy'].map(input),
        outputs: ['code', 'type'].map(output),
        rules: [
          rule('r1', { outstanding_bcy: '> 50000', code: '"OUTSTANDING_OVER_LIMIT"', type: '"block"' }),
          rule('r2', { status: '"inactive"', code: '"CONTACT_INACTIVE"', type: '"block"' }),
          rule('r3', { unused_credits_bcy: '> 0', code: '"APPLY_CREDITS_FIRST"', type: '"alert"' }),
          rule('r4', { exposure_bcy: 'credit_limit != null and $ > credit_limit', code: '"CREDIT_LIMIT_EXCEEDED"', type: '"block"' }),
        ],
      },
    },
    { id: 'response', type: 'outputNode', name: 'response', position: { x: 400, y: 0 } },
  ],
  edges: [
    { id: 'e1', sourceId: 'request', targetId: 'rules', type: 'edge' },
    { id: 'e2', sourceId: 'rules', targetId: 'response', type: 'edge' },
  ],
}

const decision = new (await zenEngine()).ZenEngine().createDecision(PEER_DECISION)
const amounts = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const messages: Record<string, (f: Record<string, number | string | null>) => string> = {
  OUTSTANDING_OVER_LIMIT: (f) => `Outstanding receivables ${amounts.format(f.outstanding_bcy as number)} exceed 50,000.00`,
  CONTACT_INACTIVE: (f) => `${f.contact_name} is inactive in Zoho Books`,
  APPLY_CREDITS_FIRST: (f) => `${amounts.format(f.unused_credits_bcy as number)} of unused credits: apply them before asking for payment`,
  CREDIT_LIMIT_EXCEEDED: (f) =>
    `Exposure ${amounts.format(f.exposure_bcy as number)} exceeds the credit limit of ${amounts.format(f.credit_limit as number)}`,
}

const app = Fastify({ logger: false })
app.get<{ Params: { id: string }; Querystring: { order_amount?: string } }>('/contacts/:id/risk', async (req) => {
  const stored = JSON.parse((await redis.get('peer:contact')) as string) as Record<string, unknown>
  const outstanding = Number(stored.outstanding_receivable_amount_bcy ?? 0)
  const order = Number(req.query.order_amount ?? 0)
  const facts = {
    contact_id: req.params.id,
    contact_name: String(stored.contact_name),
    status: String(stored.status),
    outstanding_bcy: outstanding,
    unused_credits_bcy: Number(stored.unused_credits_receivable_amount_bcy ?? 0),
    credit_limit: stored.credit_limit ? Number(stored.credit_limit) : null,
    order_amount: order,
    exposure_bcy: Math.round((outstanding + order) * 100) / 100,
  }
  const { result } = await decision.evaluate(facts)
  const fired = result as { code: string; type: string }[]
  const reasons = fired
    .filter((r) => r.type !== 'alert')
    .map((r) => ({ code: r.code, severity: r.type, message: messages[r.code]?.(facts) }))
  const alerts = fired.filter((r) => r.type === 'alert').map((r) => ({ code: r.code, message: messages[r.code]?.(facts) }))
  return {
    decision_id: randomUUID(),
    decision: reasons.some((r) => r.severity === 'block') ? 'block' : reasons.length > 0 ? 'review' : 'allow',
    contact_id: req.params.id,
    reasons,
    alerts,
    facts,
    evaluated_at: new Date().toISOString(),
  }
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
