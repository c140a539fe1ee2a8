import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestRedis {
  readonly url: string
  readonly port: number
  /** A plain client for looking at what creditgate stored. */
  readonly client: Redis
  /** SIGKILL: the server dies without a goodbye. */
  kill(): Promise<void>
  /** Starts it again on the same port (empty: it keeps nothing on disk). */
  start(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** A private redis-server on a free port, so a test can kill and restart it. Stopped at teardown. */
export async function startRedis(t: Teardown): Promise<TestRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = proc
    // A test process killed outright (a timeout, a mutation run's bail) leaves no orphan server behind.
    spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${proc.pid} 2>/dev/null`], {
      stdio: 'ignore',
      detached: true,
    }).unref()
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${output}`)), 10_000)
      proc.stdout?.on('data', (chunk: Buffer) => {
        output += chunk
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      proc.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with ${code}: ${output}`))
      })
    })
    proc.removeAllListeners('exit')
  }
  const kill = async () => {
    const proc = child
    child = undefined
    if (!proc || proc.exitCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill('SIGKILL')
    await exited
  }
  await start()
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 })
  t.teardown(async () => {
    client.disconnect()
    await kill()
  })
  return { url: `redis://127.0.0.1:${port}`, port, client, kill, start }
}
