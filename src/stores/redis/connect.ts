// Opens ioredis clients for one Redis deployment: a single server, a Sentinel-watched master or a
// Cluster. The command client fails fast while Redis is away (no offline queue, a short command
// timeout, no resending of unanswered commands) and reconnects forever with backoff; the events
// client queues its subscriptions instead, and the store renews them on every reconnect.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'

export type RedisClient = Redis | Cluster

export interface HostPort { host: string, port: number }

export interface RedisConnection {
  /** redis:// or rediss://: address (single server), credentials, database and TLS. */
  url: string
  /** Sentinel addresses: the master named `sentinelName` is looked up through them. */
  sentinels?: HostPort[]
  sentinelName?: string
  /** Cluster seed nodes: the rest of the cluster is discovered from them. */
  clusterNodes?: HostPort[]
}

export interface ConnectTiming {
  /** How long one command may take before it fails (and the caller answers 503). */
  commandTimeoutMs: number
  connectTimeoutMs: number
  /** Longest pause between two reconnection attempts. */
  maxReconnectDelayMs: number
}

export const DEFAULT_TIMING: ConnectTiming = { commandTimeoutMs: 1000, connectTimeoutMs: 2000, maxReconnectDelayMs: 1000 }

export type ClientRole = 'commands' | 'events'

/** Credentials, database and TLS from the URL; host and port too, for a single server. */
export function optionsFromUrl (url: string): RedisOptions {
  const parsed = new URL(url)
  const db = parsed.pathname.replace(/^\//, '')
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {})
  }
}

function backoff (timing: ConnectTiming): (attempt: number) => number {
  return (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), timing.maxReconnectDelayMs)
}

function roleOptions (role: ClientRole, timing: ConnectTiming): RedisOptions {
  const base: RedisOptions = { connectTimeout: timing.connectTimeoutMs, retryStrategy: backoff(timing) }
  if (role === 'events') {
    // Subscriptions wait for the connection. They are renewed after every reconnect by the store
    // (RedisEvents.ready), not by ioredis: a renewal Redis refuses (NOPERM) would reject unheard.
    return { ...base, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: false }
  }
  // A command sent while Redis is away fails at once, and one cut off mid-flight is never sent
  // again: a commit whose answer was lost must surface as an error, not run a second time.
  return {
    ...base,
    commandTimeout: timing.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: true,
    // A commit goes out at once: auto-pipelining holds a command back to the loop's next check phase,
    // and a commit is sent from one (the content routes' record batches), so on a busy loop it
    // would wait a whole turn of other requests first.
    autoPipeliningIgnoredCommands: ['evalsha', 'eval']
  }
}

export function connectRedis (connection: RedisConnection, role: ClientRole, timing: ConnectTiming = DEFAULT_TIMING): RedisClient {
  const { host, port, ...auth } = optionsFromUrl(connection.url)
  const options = roleOptions(role, timing)
  if (connection.clusterNodes !== undefined && connection.clusterNodes.length > 0) {
    const { retryStrategy, enableOfflineQueue, enableAutoPipelining, autoPipeliningIgnoredCommands, ...perNode } = options
    const clusterOptions: ClusterOptions = {
      clusterRetryStrategy: retryStrategy as (attempt: number) => number,
      enableOfflineQueue,
      enableAutoPipelining,
      autoPipeliningIgnoredCommands,
      slotsRefreshTimeout: timing.connectTimeoutMs,
      redisOptions: { ...perNode, ...auth, db: 0 }
    }
    return new Cluster(connection.clusterNodes, clusterOptions)
  }
  if (connection.sentinels !== undefined && connection.sentinels.length > 0) {
    return new Redis({
      ...options,
      ...auth,
      sentinels: connection.sentinels,
      name: connection.sentinelName,
      sentinelRetryStrategy: backoff(timing)
    })
  }
  return new Redis({ ...options, ...auth, host, port })
}
