// The embedded store: one LMDB environment in the data dir. A change (its compare-and-sets, its
// sealed records, its notices) is one asynchronous lmdb transaction callback: lmdb runs the callbacks
// queued meanwhile in one write transaction and commits and fsyncs it on its own thread, so
// concurrent changes share a commit and the main thread never waits on the disk. Several processes
// may open the same data dir: LMDB serialises their writers, every chain head is read inside the
// write transaction, and the live stream and grant events follow the other processes' commits by
// polling the database.
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import type { AuditRecord, SealedRecord } from '../../domain/audit.js'
import { iso } from '../../domain/lockbox.js'
import { StoreUnavailableError } from '../../errors.js'
import { assertOneTenant } from '../change.js'
import type { Change, GrantEvent, Stores } from '../types.js'
import { AuditLog } from './audit-log.js'
import { inTransaction, openTables, restrictFiles } from './db.js'
import { Entities } from './entities.js'
import { createLocalEvents } from './local-events.js'
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
}

export interface EmbeddedStores extends Stores {
  /** Commit counters, for tests and metrics: how well batching works. */
  readonly stats: CommitStats
}

const DEFAULT_POLL_MS = 200
/** Grant events kept in the log for the other processes to pick up: far more than a poll ever misses. */
const GRANT_LOG_KEPT = 1000

/** What a change's callback hands back: its outcome, or the error that refused it (nothing written). */
type Outcome = { sealed: SealedRecord[], start: number, leftApproved: GrantEvent[] } | { refused: unknown }

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
  const counters = { syncs: 0, batches: 0, lines: 0 }
  let lastTxn = -1
  let closing: Promise<void> | null = null
  /** Set by a failed commit (a full disk...): ping probes with a write until one succeeds again. */
  let failing = false

  /** Commits within one millisecond share their timestamp text. */
  let lastStamp = { ms: Number.NaN, text: '' }
  const stamp = (ms: number): string => {
    if (ms !== lastStamp.ms) lastStamp = { ms, text: iso(ms) }
    return lastStamp.text
  }

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

  /**
   * Inside the write transaction, every check comes before every write: a change refused (stale
   * version, ended grant, a record the log cannot hold) writes nothing and the others sharing the
   * transaction commit.
   */
  function apply (change: Change): Outcome {
    // Counted per transaction that holds a change (retention's and the probe's are not batches of commits).
    const txn = t.root.getWriteTxnId()
    if (txn !== lastTxn) {
      lastTxn = txn
      counters.batches++
      counters.syncs++
    }
    let sealed: SealedRecord[] = []
    let checked
    let time = 0
    try {
      checked = entities.check(change)
      if (change.audit.length > 0) {
        time = Math.max(now(), t.counters.get('lastTime') ?? 0)
        sealed = log.seal(change.tenantId, change.audit, stamp(time))
      }
    } catch (refused) {
      return { refused }
    }
    entities.write(checked, nextOrdinal)
    let start = -1
    if (sealed.length > 0) {
      t.counters.put('lastTime', time)
      start = log.write(change.tenantId, sealed)
      feed.own(start, sealed.map(({ record }) => record))
    }
    if (checked.leftApproved.length > 0) logGrantEvents(checked.leftApproved)
    counters.lines++
    return { sealed, start, leftApproved: checked.leftApproved }
  }

  async function commit (change: Change): Promise<AuditRecord[]> {
    guard()
    assertOneTenant(change)
    let registered: number | undefined
    const outcome = await transact(() => {
      const result = apply(change)
      if ('start' in result && result.start !== -1) registered = result.start
      return result
    }).catch((error: unknown) => {
      if (registered !== undefined) feed.forget(registered)
      throw error
    })
    if ('refused' in outcome) throw outcome.refused
    for (const event of outcome.leftApproved) grantEvents.emit(event)
    feed.deliver()
    return outcome.sealed.map(({ record }) => record)
  }

  /**
   * The live stream: every record appended, by this process or another, delivered in position order.
   * This process's changes are delivered as the batches they committed; another's as they are found.
   */
  const feed = (() => {
    let delivered = log.end()
    /** This process's sealed batches by first position, until delivered. */
    const pending = new Map<number, { end: number, records: AuditRecord[] }>()
    return {
      own (start: number, records: AuditRecord[]): void {
        pending.set(start, { end: start + records.length, records })
      },
      forget (start: number): void {
        pending.delete(start)
      },
      deliver (): void {
        const end = log.end()
        for (let position = delivered; position < end;) {
          const batch = pending.get(position)
          if (batch !== undefined) {
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
        delivered = Math.max(delivered, end)
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
      return { ...counters }
    }
  }
}
