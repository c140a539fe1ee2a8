import { once } from 'node:events'
import { createServer } from 'node:http'
import { Webhook } from 'standardwebhooks'
import type { Case } from '../../src/domain/case.js'

/**
 * An order system's callback receiver: verifies every request with the `standardwebhooks` package;
 * answers 500 `failures` times first. Closed when the test ends.
 */
export async function receiver(t: { teardown(fn: () => unknown): void }, secret: string, failures = 0) {
  const verifier = new Webhook(secret)
  const accepted: { id: string; type: string; data: Case }[] = []
  const seen: string[] = []
  const rejected: string[] = []
  let failing = failures
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      const headers = req.headers as Record<string, string>
      try {
        const payload = verifier.verify(body, headers) as { type: string; data: Case }
        seen.push(String(headers['webhook-id']))
        if (failing-- > 0) {
          res.writeHead(500).end()
          return
        }
        accepted.push({ id: String(headers['webhook-id']), ...payload })
        res.writeHead(204).end()
      } catch (err) {
        rejected.push(String(err))
        res.writeHead(400).end()
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}/creditgate`, accepted, seen, rejected }
}
