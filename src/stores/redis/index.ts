// The Redis store: every replica of the gateway shares one workflow, one audit chain per tenant and
// one view of which grants are alive. Whatever Redis cannot answer (down, timed out, closed) comes
// out as StoreUnavailableError, which callers turn into 503; when Redis returns, so does the service.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuditRecord } from '../../domain/audit.js'
import { ConflictError, OWN_CODES, StoreUnavailableError } from '../../errors.js'
import { ndjsonChunks } from '../ndjson.js'
import type { AuditLog, Stores } from '../types.js'
import { AuditReads } from './audit.js'
import { Committer, type CommitStats } from './commit.js'
import { connectRedis, DEFAULT_TIMING, type ConnectTiming, type RedisClient, type RedisConnection } from './connect.js'
import { RedisEvents } from './events.js'
import { RedisKeys } from './keys.js'
import { NotificationReads } from './notifications.js'
import { Reads } from './reads.js'
import { Registry } from './registry.js'
import { redisSiemCursors } from './siem-cursors.js'
import { quietLog, type Log } from '../../log.js'

export interface RedisStoreOptions {
  connection: RedisConnection
  /** First part of every key and channel; several deployments (or tests) can share one Redis. */
  namespace?: string
  /** Epoch ms; audit times come from it (never going backwards within a tenant). */
  now?: () => number
  log?: Log
  timing?: Partial<ConnectTiming>
  /** How long opening waits for Redis before it goes on without it (answering 503 until it comes). */
  connectWaitMs?: number
}

export interface RedisStores extends Stores {
  /** Commit counters, for tests and metrics: how well group commit is batching. */
  readonly stats: CommitStats
}

/** Errors of our own making pass; anything from the client means Redis could not answer. */
function failure (err: unknown): Error {
  if (err instanceof ConflictError || err instanceof StoreUnavailableError) return err
  if (OWN_CODES.has((err as { code?: string }).code as string)) return err as Error
  return new StoreUnavailableError(`Redis did not answer: ${(err as Error).message}`, { cause: err })
}

/** Logs the first failure of an outage and the recovery, not every reconnection attempt. */
function watch (client: RedisClient, name: string, log: Log, onReady: () => void): void {
  let failing = false
  client.on('ready', () => {
    if (failing) log.info({ client: name }, 'Redis answers again')
    failing = false
    onReady()
  })
  client.on('error', (err: Error) => {
    if (!failing) log.warn({ client: name, err: err.message }, 'Redis does not answer; reconnecting')
    failing = true
  })
}

/** A client just made: it cannot be ready before the next turn of the event loop. */
async function ready (client: RedisClient): Promise<void> {
  await new Promise<void>((resolve) => client.once('ready', resolve))
}

/**
 * Opening waits up to `waitMs` for Redis to answer and the event subscription to start, then goes
 * on without them: the store answers 503 until Redis comes.
 */
async function awaitFirstAnswer (client: RedisClient, subscribed: Promise<void>, waitMs: number, log: Log): Promise<void> {
  const answered = await Promise.race([
    Promise.all([ready(client), subscribed]).then(() => true),
    sleep(waitMs, false)
  ])
  if (!answered) log.warn({}, 'Redis does not answer yet: the store answers 503 until it does')
}

/** QUIT lets answers under way arrive (for up to `timeoutMs`); without a connection there is nothing to wait for. */
async function quit (connection: RedisClient, timeoutMs: number): Promise<void> {
  if (connection.status === 'ready') {
    const quitting = connection.quit().catch(() => {})
    if (await Promise.race([quitting.then(() => true), sleep(timeoutMs, false)])) return
  }
  connection.disconnect()
}

export async function openRedisStores (options: RedisStoreOptions): Promise<RedisStores> {
  const log = options.log ?? quietLog
  const timing = { ...DEFAULT_TIMING, ...options.timing }
  const keys = new RedisKeys(options.namespace)
  const origin = randomUUID()
  const client = connectRedis(options.connection, 'commands', timing)
  const subscriber = connectRedis(options.connection, 'events', timing)
  const registry = new Registry(client, keys)
  const reads = new Reads(client, keys, registry)
  const audit = new AuditReads(client, keys, registry)
  const notifications = new NotificationReads(client, keys, registry)
  const siemCursors = redisSiemCursors(client, keys)
  const events = new RedisEvents(subscriber, client, keys, origin, log, timing.maxReconnectDelayMs)
  watch(client, 'commands', log, () => { registry.forgetTenants() })
  watch(subscriber, 'events', log, () => { events.ready() })
  const committer = new Committer({
    client,
    keys,
    origin,
    now: options.now ?? Date.now,
    register: async (change, plan) => { await registry.register(change, plan) },
    grantEvent: events.grants.emit,
    appended: events.records.emit,
    failure,
    log
  })

  const started = events.start().catch((err: unknown) => {
    log.warn({ err }, 'could not subscribe to grant events: revocations on other replicas reach this one only as its grant cache expires')
  })
  await awaitFirstAnswer(client, started, options.connectWaitMs ?? 5000, log)

  let closing: Promise<void> | null = null

  function guard (): void {
    if (closing !== null) throw new StoreUnavailableError('the Redis store is closed')
  }

  function guarded<A extends unknown[], R> (call: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args) => {
      guard()
      try {
        return await call(...args)
      } catch (err) {
        throw failure(err)
      }
    }
  }

  async function * exported (filter: Parameters<AuditLog['export']>[0]): AsyncGenerator<AuditRecord> {
    try {
      yield * audit.export(filter, guard)
    } catch (err) {
      throw failure(err)
    }
  }

  async function close (): Promise<void> {
    // New calls are refused at once; commits already handed in are answered first.
    await committer.settled()
    await events.settled()
    await Promise.all([client, subscriber].map(async (connection) => { await quit(connection, timing.commandTimeoutMs) }))
  }

  return {
    lockbox: {
      // Not `guarded`: the committer reports Redis failures itself, and a malformed change (one
      // that reaches into another tenant) is a caller's bug, not an outage to answer with 503.
      commit: async (change) => {
        guard()
        return await committer.commit(change)
      },
      getTenantSettings: guarded((tenantId) => reads.getTenantSettings(tenantId)),
      nextServiceRequestNumber: guarded((tenantId) => reads.nextServiceRequestNumber(tenantId)),
      getServiceRequest: guarded((tenantId, number) => reads.getServiceRequest(tenantId, number)),
      listServiceRequests: guarded((tenantId, page) => reads.listServiceRequests(tenantId, page)),
      getRequest: guarded((id) => reads.getRequest(id)),
      listRequests: guarded((query) => reads.listRequests(query)),
      listRequestsOfServiceRequest: guarded((tenantId, number) => reads.listRequestsOfServiceRequest(tenantId, number)),
      listUnsettledRequests: guarded(() => reads.listUnsettledRequests()),
      listDueNotifications: guarded((now, limit) => notifications.listDue(now, limit)),
      listNotifications: guarded((query) => notifications.list(query))
    },
    audit: {
      query: guarded((query) => audit.query(query)),
      export: exported,
      exportNdjson: (filter, map) => ndjsonChunks(exported(filter), map),
      verify: guarded((tenantId) => audit.verify(tenantId)),
      head: guarded((tenantId) => audit.head(tenantId)),
      prune: guarded((before) => audit.prune(before)),
      subscribe: (listener) => events.subscribeRecords(listener)
    },
    grantEvents: {
      publish: guarded((event) => events.publishGrant(event)),
      subscribe: events.grants.subscribe,
      resubscribed: (listener) => events.resubscribed.subscribe(() => { listener() })
    },
    siemCursors: { get: guarded(siemCursors.get), put: guarded(siemCursors.put) },
    redis: { client, refusalBudgetPrefix: keys.refusalBudgetPrefix() },
    ping: async () => {
      if (closing !== null) return false
      try {
        return await client.ping() === 'PONG'
      } catch {
        return false
      }
    },
    close: async () => {
      closing ??= close()
      await closing
    },
    get stats () {
      return { ...committer.stats }
    },
    batching: () => ({ batches: committer.stats.calls, commits: committer.stats.changes })
  }
}
