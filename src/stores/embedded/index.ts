// The embedded store: one LMDB environment in the data dir. A change (its compare-and-sets, its
// sealed records, its notices) commits in one write transaction with the changes queued meanwhile
// (group-commit.ts); lmdb commits and fsyncs it on its own thread, so concurrent changes share a
// commit and the main thread never waits on the disk. Several processes
// may open the same data dir: LMDB serialises their writers, every chain head is read inside the
// write transaction, and the live stream and grant events follow the other processes' commits by
// polling the database.
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import type { AuditRecord } from '../../domain/audit.js'
import { StoreUnavailableError } from '../../errors.js'
import { assertOneTenant } from '../change.js'
import type { Change, GrantEvent, Stores } from '../types.js'
import { AuditLog } from './audit-log.js'
import { inTransaction, openTables, restrictFiles } from './db.js'
import { Entities } from './entities.js'
import { GroupCommit } from './group-commit.js'
import { createLocalEvents } from '../local-events.js'
import { migrateJournal, type MigrationLog } from './migrate.js'
import { embeddedSiemCursors } from './siem-cursors.js'

export { DATABASE_FILE } from './db.js'

export interface EmbeddedStoreOptions {
  dataDir: string
  /** Epoch ms; audit times come from it (never going backwards, across processes too). */
  now?: () => number
  /** Where a migration from the old journal format reports its progress. */
  log?: MigrationLog
  /** Records between two progress lines of a migration (tests make it small). */
  migrationProgressEvery?: number
  /** How often the other processes' records and grant events are looked for, ms. */
  pollMs?: number
}

export interface CommitStats {
  /** Write transactions committed (each one fsync): with batching, far fewer than commits under load. */
  readonly syncs: number
  readonly batches: number
  /** Changes committed. */
  readonly lines: number
  /** Changes whose records were sealed again inside their transaction (another process appended, a change before them was refused). */
  readonly resealed: number
}

export interface EmbeddedStores extends Stores {
  /** Commit counters, for tests and metrics: how well batching works. */
  readonly stats: CommitStats
}

const DEFAULT_POLL_MS = 200
/** Grant events kept in the log for the other processes to pick up: far more than a poll ever misses. */
const GRANT_LOG_KEPT = 1000

interface GrantLine { origin: string, event: GrantEvent }

export async function openEmbeddedStores (options: EmbeddedStoreOptions): Promise<EmbeddedStores> {
  const now = options.now ?? Date.now
  await mkdir(options.dataDir, { recursive: true })
  const t = openTables(options.dataDir)
  await restrictFiles(options.dataDir)
  const entities = new Entities(t)
  const log = new AuditLog(t)
  try {
    await migrateJournal(options.dataDir, t, entities, log, options.log, options.migrationProgressEvery)
  } catch (error) {
    await t.root.close()
    throw error
  }
  /** This process, in the grant log: its own events are emitted when committed, not again when polled. */
  const origin = randomUUID()
  const grantEvents = createLocalEvents<GrantEvent>()
  const appended = createLocalEvents<AuditRecord[]>()
  const listening = { records: 0, grants: 0 }
  let closing: Promise<void> | null = null
  /** Set by a failed commit (a full disk...): ping probes with a write until one succeeds again. */
  let failing = false

  function guard (): void {
    if (closing !== null) throw new StoreUnavailableError('the embedded store is closed')
  }

  function guarded<A extends unknown[], R> (read: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
    return async (...args) => {
      guard()
      return await read(...args)
    }
  }

  /** Runs `work` in the next write transaction; a failure of the transaction itself is the store's, never the caller's. */
  async function transact<T> (work: () => T): Promise<T> {
    try {
      const result = await inTransaction(t, work)
      failing = false
      return result
    } catch (error) {
      failing = true
      throw new StoreUnavailableError(`the embedded store could not commit (${(error as Error).message})`, { cause: error })
    }
  }

  function nextOrdinal (): number {
    const ordinal = t.counters.get('ordinal') ?? 0
    t.counters.put('ordinal', ordinal + 1)
    return ordinal
  }

  function logGrantEvents (events: GrantEvent[]): void {
    let seq = t.counters.get('grantSeq') ?? 0
    for (const event of events) {
      seq++
      t.grantLog.put(seq, JSON.stringify({ origin, event } satisfies GrantLine))
      if (seq > GRANT_LOG_KEPT) t.grantLog.remove(seq - GRANT_LOG_KEPT)
    }
    t.counters.put('grantSeq', seq)
  }

  const group = new GroupCommit({
    t,
    entities,
    log,
    now,
    transact,
    nextOrdinal,
    logGrantEvents,
    appended: { own: (start, records) => feed.own(start, records), forget: (start) => feed.forget(start) },
    // Once closing, the database may be closed under the batch: nothing is delivered live any more
    // (the batch is on disk all the same), and the commit's caller still gets its answer.
    durable: (start) => { if (closing === null) feed.settle(start) }
  })

  async function commit (change: Change): Promise<AuditRecord[]> {
    guard()
    assertOneTenant(change)
    const { records } = await group.submit(change)
    // Durable now: the grant events the change carries go out (to the other processes through the
    // grant log, written in the same transaction); a refused change never gets here.
    for (const event of change.grantEvents ?? []) grantEvents.emit({ ...event })
    return records
  }

  /**
   * The live stream: every record appended, by this process or another, delivered in position order.
   * This process's changes are delivered as the batches they committed; another's as they are found.
   */
  const feed = (() => {
    let delivered = log.end()
    /** This process's sealed batches by first position, until delivered; `durable` once flushed. */
    const pending = new Map<number, { end: number, records: AuditRecord[], durable: boolean }>()
    return {
      own (start: number, records: AuditRecord[]): void {
        pending.set(start, { end: start + records.length, records, durable: false })
      },
      forget (start: number): void {
        pending.delete(start)
      },
      /** The batch at `start` is on disk: it (and what follows it) may go out. */
      settle (start: number): void {
        const batch = pending.get(start)
        if (batch !== undefined) batch.durable = true
        this.deliver()
      },
      deliver (): void {
        const end = log.end()
        let position = delivered
        while (position < end) {
          const batch = pending.get(position)
          if (batch !== undefined) {
            // Committed but not yet flushed (the next batch commits while this one is flushed):
            // it goes out, and what follows it, once it is durable.
            if (!batch.durable) break
            pending.delete(position)
            appended.emit(batch.records)
            position = batch.end
            continue
          }
          let next = position + 1
          while (next < end && !pending.has(next)) next++
          if (listening.records > 0) {
            const records = log.between(position, next)
            if (records.length > 0) appended.emit(records)
          }
          position = next
        }
        delivered = Math.max(delivered, position)
      }
    }
  })()

  let grantsSeen = t.counters.get('grantSeq') ?? 0
  function pollGrants (): void {
    const last = t.counters.get('grantSeq') ?? 0
    if (last === grantsSeen) return
    for (const { value } of t.grantLog.getRange({ start: grantsSeen + 1, end: last + 1 })) {
      const line = JSON.parse(value) as GrantLine
      if (line.origin !== origin) grantEvents.emit(line.event)
    }
    grantsSeen = last
  }

  const poller = setInterval(() => {
    if (closing !== null || listening.records + listening.grants === 0) return
    t.root.resetReadTxn()
    pollGrants()
    feed.deliver()
  }, options.pollMs ?? DEFAULT_POLL_MS)
  poller.unref()

  const counted = <T>(kind: keyof typeof listening, subscribe: (listener: (event: T) => void) => () => void) => (listener: (event: T) => void): () => void => {
    listening[kind]++
    const unsubscribe = subscribe(listener)
    let done = false
    return () => {
      if (!done) listening[kind]--
      done = true
      unsubscribe()
    }
  }

  return {
    lockbox: {
      commit,
      getTenantSettings: guarded((tenantId) => entities.getTenantSettings(tenantId)),
      nextServiceRequestNumber: guarded(async (tenantId) => await transact(() => entities.nextServiceRequestNumber(tenantId))),
      getServiceRequest: guarded((tenantId, number) => entities.getServiceRequest(tenantId, number)),
      listServiceRequests: guarded((tenantId, page) => entities.listServiceRequests(tenantId, page)),
      getRequest: guarded((id) => entities.getRequest(id)),
      listRequests: guarded((query) => entities.listRequests(query)),
      listRequestsOfServiceRequest: guarded((tenantId, number) => entities.listRequestsOfServiceRequest(tenantId, number)),
      listUnsettledRequests: guarded(() => entities.listUnsettledRequests()),
      listDueNotifications: guarded((now, limit) => entities.listDueNotifications(now, limit)),
      listNotifications: guarded((query) => entities.listNotifications(query))
    },
    audit: {
      query: guarded((query) => log.query(query)),
      export: (filter) => log.export(filter, guard),
      exportNdjson: (filter, map) => log.exportNdjson(filter, guard, map),
      verify: guarded(async (tenantId) => await log.verify(tenantId, guard)),
      head: guarded((tenantId) => log.head(tenantId)),
      prune: guarded(async (before) => await log.prune(before, transact, guard)),
      subscribe: counted('records', appended.subscribe)
    },
    grantEvents: {
      publish: guarded(async (event) => {
        await transact(() => logGrantEvents([event]))
        grantEvents.emit(event)
      }),
      subscribe: counted('grants', grantEvents.subscribe),
      // Events are followed by polling the database, which loses none: never renewed.
      resubscribed: () => () => {}
    },
    siemCursors: embeddedSiemCursors(t, transact, guard),
    ping: async () => {
      if (closing !== null) return false
      if (!failing) return true
      // After a failed commit: ready again only once a write goes through.
      return await transact(() => t.counters.put('probe', now())).then(() => true, () => false)
    },
    close: async () => {
      closing ??= (async () => {
        clearInterval(poller)
        await t.root.close()
      })()
      await closing
    },
    get stats () {
      const { batches, lines, resealed } = group.stats
      return { syncs: batches, batches, lines, resealed }
    },
    batching: () => ({ batches: group.stats.batches, commits: group.stats.lines })
  }
}
