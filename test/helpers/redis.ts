import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis } from 'ioredis'

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

/** A redis-server process (a server, a Cluster node or a Sentinel), ready when its log says so. */
async function spawnRedis(args: string[], ready: string): Promise<ChildProcess> {
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  // A test process killed outright (a timeout, a mutation run's bail) leaves no orphan server behind.
  spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${proc.pid} 2>/dev/null`], {
    stdio: 'ignore',
    detached: true,
  }).unref()
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server ${args.join(' ')} did not start: ${output}`)), 10_000)
    proc.stdout?.on('data', (chunk: Buffer) => {
      output += chunk
      if (output.includes(ready)) {
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
  // Keep reading its log, so that a full pipe never blocks it.
  proc.stdout?.resume()
  return proc
}

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
  const exited = once(proc, 'exit')
  proc.kill('SIGKILL')
  await exited
}

/** Nothing on disk: a server started again comes back empty. */
const EPHEMERAL = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']

/** A private redis-server on a free port, so a test can kill and restart it. Stopped at teardown. */
export async function startRedis(t: Teardown): Promise<TestRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = await spawnRedis(['--port', String(port), ...EPHEMERAL], 'Ready to accept connections')
  }
  const kill = async () => {
    const proc = child
    child = undefined
    await stop(proc)
  }
  await start()
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 })
  t.teardown(async () => {
    client.disconnect()
    await kill()
  })
  return { url: `redis://127.0.0.1:${port}`, port, client, kill, start }
}

/** Polls until check() holds, or fails after the deadline. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A client to one process, for the helpers' own commands. */
const direct = (port: number) => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: true })

export interface TestTopology {
  /** creditgate's configuration for it: REDIS_SENTINELS and REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES. */
  readonly env: Record<string, string>
  /** A client that sees everything creditgate stored (the master, or every Cluster master). */
  keys(): Promise<string[]>
  /** A client of the whole topology (through the Sentinels, or to the Cluster), for looking at and changing what creditgate stored. */
  readonly client: Redis | Cluster
  /** Drops every pub/sub connection on every server (CLIENT KILL TYPE pubsub). */
  killSubscribers(): Promise<void>
  /** Empties every master: the next test starts from nothing. */
  flush(): Promise<void>
  /** Starts a failover and resolves once the new master serves. */
  failover(): Promise<void>
}

/**
 * What a topology keeps: a temp folder for its servers' files, the servers (stopped at teardown),
 * and clients to each server (disconnected at teardown).
 */
async function scaffold(t: Teardown, kind: string) {
  const dir = await mkdtemp(join(tmpdir(), `creditgate-${kind}-`))
  const procs: ChildProcess[] = []
  const clients: Redis[] = []
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    await Promise.all(procs.map(stop))
    await rm(dir, { recursive: true, force: true })
  })
  const client = (port: number) => {
    const c = direct(port)
    clients.push(c)
    return c
  }
  return { dir, procs, clients, client }
}

/**
 * A master, one replica and three Sentinels monitoring them as `creditgate`, all on free ports.
 * `failover()` runs SENTINEL FAILOVER and waits until the Sentinels name the replica as the master.
 */
export async function startSentinels(t: Teardown): Promise<TestTopology> {
  const name = 'creditgate'
  const { dir, procs, clients, client } = await scaffold(t, 'sentinel')
  const ports = [await freePort(), await freePort()]
  const [masterPort, replicaPort] = ports as [number, number]
  // In the temporary directory: a replica's full sync writes the master's data to its disk.
  const server = ['--dir', dir, ...EPHEMERAL]
  procs.push(await spawnRedis(['--port', String(masterPort), ...server], 'Ready to accept connections'))
  procs.push(
    await spawnRedis(
      ['--port', String(replicaPort), ...server, '--replicaof', '127.0.0.1', String(masterPort)],
      'Ready to accept connections',
    ),
  )
  const sentinelPorts: number[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const conf = join(dir, `sentinel-${port}.conf`)
    await writeFile(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} 2000`,
        `sentinel failover-timeout ${name} 10000`,
        '',
      ].join('\n'),
    )
    procs.push(await spawnRedis([conf, '--sentinel'], '+monitor master'))
    sentinelPorts.push(port)
  }
  const sentinels = sentinelPorts.map(client)
  const masterOf = async (sentinel: Redis) => ((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[])[1]
  /** Every Sentinel knows the replica (in sync) and the other two: a failover can be asked of any. */
  const settled = async (master: number) => {
    for (const sentinel of sentinels) {
      if (Number(await masterOf(sentinel)) !== master) return false
      const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', name)) as string[][]
      const fields = (r: string[]) => Object.fromEntries(r.flatMap((v, i) => (i % 2 === 0 ? [[v, r[i + 1]]] : [])))
      if (!replicas.some((r) => fields(r).flags === 'slave' && fields(r)['master-link-status'] === 'ok')) return false
      if (((await sentinel.call('SENTINEL', 'SENTINELS', name)) as unknown[]).length !== 2) return false
    }
    return true
  }
  let master = masterPort
  await until(() => settled(master), 'the sentinels to see the replica and each other')
  const whole = new Redis({ sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })), name, maxRetriesPerRequest: 1 })
  clients.push(whole)
  return {
    env: { REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','), REDIS_SENTINEL_NAME: name },
    client: whole,
    async killSubscribers() {
      for (const port of ports) await client(port).call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    },
    keys: () => client(master).keys('*'),
    async flush() {
      await client(master).flushall()
    },
    async failover() {
      const next = master === masterPort ? replicaPort : masterPort
      await (sentinels[0] as Redis).call('SENTINEL', 'FAILOVER', name)
      master = next
      await until(
        async () =>
          ((await client(next).call('ROLE')) as [string])[0] === 'master' && Number(await masterOf(sentinels[0] as Redis)) === next,
        'the new master',
      )
    },
  }
}

/**
 * A Redis Cluster of three masters with one replica each, on free ports. `failover()` runs
 * CLUSTER FAILOVER on the replica of the master holding `slotOf` (a key), and waits until it is
 * the master and the cluster is whole.
 */
export async function startCluster(t: Teardown, slotOf: string): Promise<TestTopology> {
  const { dir, procs, client } = await scaffold(t, 'cluster')
  const ports: number[] = []
  for (let i = 0; i < 6; i++) {
    const port = await freePort()
    // The bus on a port of its own: port + 10000 is not known to be free.
    const bus = await freePort()
    procs.push(
      await spawnRedis(
        [
          '--port',
          String(port),
          ...EPHEMERAL,
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(bus),
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
          '--dir',
          dir,
        ],
        'Ready to accept connections',
      ),
    )
    ports.push(port)
  }
  const create = spawn(
    'redis-cli',
    ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  create.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  create.stderr.on('data', (chunk: Buffer) => {
    output += chunk
  })
  const [code] = (await once(create, 'exit')) as [number]
  if (code !== 0) throw new Error(`redis-cli --cluster create failed: ${output}`)
  const nodes = ports.map(client)
  const roles = async () => Promise.all(nodes.map(async (node) => (await node.call('ROLE')) as [string, ...unknown[]]))
  /** Every node sees the whole cluster, and every replica is in sync with its master. */
  const whole = async () => {
    for (const node of nodes) if (!String(await node.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) return false
    for (const role of await roles()) if (role[0] === 'slave' && role[3] !== 'connected') return false
    return (await roles()).filter((role) => role[0] === 'master').length === 3
  }
  await until(whole, 'the cluster to form')
  const masters = async () => {
    const all = await roles()
    return nodes.filter((_, i) => all[i]?.[0] === 'master')
  }
  const cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })))
  t.teardown(() => cluster.disconnect())
  return {
    env: { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(',') },
    client: cluster,
    async killSubscribers() {
      for (const node of nodes) await node.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    },
    async keys() {
      const found = await Promise.all((await masters()).map((node) => node.keys('*')))
      return found.flat()
    },
    async flush() {
      await Promise.all((await masters()).map((node) => node.flushall()))
    },
    async failover() {
      const slot = Number(await (nodes[0] as Redis).call('CLUSTER', 'KEYSLOT', slotOf))
      const all = await roles()
      const owner = Number(
        ((await (nodes[0] as Redis).call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]).find(
          ([from, to]) => slot >= from && slot <= to,
        )?.[2][1],
      )
      const replica = nodes.find((_, i) => all[i]?.[0] === 'slave' && Number(all[i]?.[2]) === owner)
      if (!replica) throw new Error(`no replica of the master on ${owner}`)
      await replica.call('CLUSTER', 'FAILOVER')
      await until(async () => ((await replica.call('ROLE')) as [string])[0] === 'master' && (await whole()), 'the replica to take over')
    },
  }
}
