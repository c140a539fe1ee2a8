import { createCreditgateClient } from './index.js'

/** An order system asks creditgate before it accepts an order. */
export function creditChecks(baseUrl: string, apiKey: string) {
  const creditgate = createCreditgateClient({ baseUrl, apiKey })

  return async function checkOrder(contactId: string, amount: number, reference: string) {
    const { data, error, response } = await creditgate.POST('/contacts/{contact_id}/risk', {
      params: { path: { contact_id: contactId } },
      body: { order: { amount, currency: 'INR', reference } },
    })
    if (error) {
      // problem+json: `code` says what happened; 503 and 429 come with Retry-After.
      const retryAfter = response.headers.get('retry-after')
      return { accept: false, hold: true, notes: [`${error.code}: ${error.detail}`], retryAfter, decisionId: null }
    }
    return {
      accept: data.decision === 'allow',
      hold: data.decision === 'review',
      notes: [...data.reasons, ...data.alerts].map((m) => m.message), // e.g. "apply unused credits first"
      retryAfter: null,
      decisionId: data.decision_id, // keep it with the order: the decision log has the rest
    }
  }
}
