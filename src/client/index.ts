import createClient from 'openapi-fetch'
import type { components, paths } from './schema.js'

/**
 * A typed creditgate client for order systems, generated from openapi/openapi.json
 * (npm run client): every path, parameter and answer is a TypeScript type, so a change to the
 * contract that breaks a caller fails its build.
 */
export type { components, paths }
export type RiskDecision = components['schemas']['RiskDecision']
export type Problem = components['schemas']['Problem']

export function createCreditgateClient(options: { baseUrl: string; apiKey: string; fetch?: typeof fetch }) {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })
}
