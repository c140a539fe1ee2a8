import { z } from 'zod'
import { ConfigError, optional } from './parse.js'

/** One Redis server to start from: a Sentinel or a Cluster node. */
export interface RedisNode {
  readonly host: string
  readonly port: number
}

/**
 * Where creditgate finds Redis: one server (REDIS_URL), a master through Sentinel, or a Cluster.
 * Credentials and TLS come from the URL form (`redis[s]://[user:password@]host:port`), which the
 * Sentinel and Cluster lists accept for their entries too.
 */
export type RedisTarget =
  | { readonly mode: 'url'; readonly url: string }
  | ({ readonly mode: 'sentinel'; readonly sentinels: readonly RedisNode[]; readonly name: string } & RedisAuth)
  | ({ readonly mode: 'cluster'; readonly nodes: readonly RedisNode[] } & RedisAuth)

export interface RedisAuth {
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: boolean
}

const MAX_REDIS_NODES = 64

/** `host:port,…` where each entry may also be written `redis[s]://[user:password@]host:port`; every entry shares one scheme and credentials. */
export const redisNodeList = optional(
  z.string().transform((text, ctx) => {
    const entries = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    if (entries.length === 0 || entries.length > MAX_REDIS_NODES) {
      ctx.addIssue({ code: 'custom', message: `must list 1 to ${MAX_REDIS_NODES} host:port entries` })
      return z.NEVER
    }
    const nodes: RedisNode[] = []
    const auths = new Set<string>()
    let auth: RedisAuth = { username: undefined, password: undefined, tls: false }
    for (const [i, entry] of entries.entries()) {
      let url: URL | undefined
      try {
        url = new URL(/^[a-z]+:\/\//i.test(entry) ? entry : `redis://${entry}`)
      } catch {
        url = undefined
      }
      const port = Number(url?.port)
      if (
        !url ||
        !/^rediss?:$/.test(url.protocol) ||
        !url.hostname ||
        !url.port ||
        !(port >= 1 && port <= 65535) ||
        url.pathname.length > 1 ||
        url.search
      ) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} must be host:port or redis[s]://[user:password@]host:port` })
        return z.NEVER
      }
      nodes.push({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port })
      auth = {
        username: url.username ? decodeURIComponent(url.username) : undefined,
        password: url.password ? decodeURIComponent(url.password) : undefined,
        tls: url.protocol === 'rediss:',
      }
      auths.add(JSON.stringify(auth))
    }
    if (auths.size > 1) {
      ctx.addIssue({ code: 'custom', message: 'entries must all use the same scheme and credentials' })
      return z.NEVER
    }
    return { nodes, auth }
  }),
)

/** The Redis variables, parsed (env.ts). */
export interface RedisEnv {
  readonly REDIS_URL?: string | undefined
  readonly REDIS_SENTINELS?: z.output<typeof redisNodeList>
  readonly REDIS_SENTINEL_NAME?: string | undefined
  readonly REDIS_CLUSTER_NODES?: z.output<typeof redisNodeList>
}

/** At most one way to reach Redis, and a Sentinel list always with its master name. */
export function redisTarget(e: RedisEnv): RedisTarget | undefined {
  const set = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((name) => e[name] !== undefined)
  if (set.length > 1) {
    throw new ConfigError(
      `invalid configuration: set only one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (${set.join(' and ')} are set)`,
    )
  }
  if (e.REDIS_SENTINELS && !e.REDIS_SENTINEL_NAME) {
    throw new ConfigError(
      'invalid configuration: REDIS_SENTINEL_NAME is required with REDIS_SENTINELS (the master name the Sentinels monitor)',
    )
  }
  if (e.REDIS_SENTINEL_NAME && !e.REDIS_SENTINELS) {
    throw new ConfigError('invalid configuration: REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not')
  }
  if (e.REDIS_URL) return { mode: 'url', url: e.REDIS_URL }
  if (e.REDIS_SENTINELS && e.REDIS_SENTINEL_NAME) {
    return { mode: 'sentinel', sentinels: e.REDIS_SENTINELS.nodes, name: e.REDIS_SENTINEL_NAME, ...e.REDIS_SENTINELS.auth }
  }
  if (e.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: e.REDIS_CLUSTER_NODES.nodes, ...e.REDIS_CLUSTER_NODES.auth }
  return undefined
}
