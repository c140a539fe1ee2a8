import { createHmac, randomBytes } from 'node:crypto'

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, spec "Signature scheme"): the
 * signature is `v1,` + base64 HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed
 * with the base64-decoded part of the secret after `whsec_`. Receivers verify it with any Standard
 * Webhooks library (the tests use the `standardwebhooks` package).
 */
export function signatureHeaders(secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` }
}

/** A message id: the same on every retry of one event, so receivers can drop duplicates. */
export const newMessageId = () => `msg_${randomBytes(16).toString('hex')}`
