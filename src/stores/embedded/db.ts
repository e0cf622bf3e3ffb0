// The embedded store's LMDB environment: one file in the data dir holding every entity, each tenant's
// chain, the outbox and the indexes. Several processes may open it at once: LMDB serialises their
// write transactions, and every read sees the last committed state, so nothing here is cached across
// transactions.
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { open, type Database, type Key, type RootDatabase } from 'lmdb'

/** The environment file inside the data dir (LMDB keeps its lock table beside it, `-lock` appended). */
export const DATABASE_FILE = 'lockbox.mdb'

/** The audit trail says who read which tenant's content: only the service's own user may read it. */
export const FILE_MODE = 0o600

/** Values are JSON texts (entities, sealed records) or empty (index entries, whose key is the data). */
type Text = Database<string, Key>
/** An index: its keys are the data, its values empty (written as one shared empty buffer). */
type Index = Database<string | Uint8Array, Key>

export interface Tables {
  root: RootDatabase<unknown, Key>
  /** Counters: `position` (next audit position), `first` (first kept), `lastTime`, `ordinal`, `grantSeq`, and per-tenant service request numbers. */
  counters: Database<number, Key>
  requests: Text
  /** [createdAt, ordinal] and [tenantId, createdAt, ordinal] → request id, for newest-first pages. */
  requestOrder: Text
  requestOrderOfTenant: Text
  /** [tenantId, number, requestId] → ''. */
  requestsOfServiceRequest: Text
  /** Request ids whose stored status is not final. */
  unsettled: Text
  /** [tenantId, number] → service request. */
  serviceRequests: Text
  /** [tenantId, createdAt, ordinal] → number. */
  serviceRequestOrder: Text
  settings: Text
  /** [tenantId, id] → message; its place in the orders below is kept in `notificationPlace`. */
  notifications: Text
  notificationPlace: Database<number[], Key>
  /** [createdAt, ordinal], [status, createdAt, ordinal], [requestId, createdAt, ordinal] → [tenantId, id] JSON. */
  notificationOrder: Text
  notificationsOfStatus: Text
  notificationsOfRequest: Text
  /** Audit position → the record's sealed JSON text. Positions count records in append order, for good. */
  audit: Database<string, number>
  /** The same table, read as bytes: an export copies the stored texts without decoding them. */
  auditBytes: Database<Buffer, number>
  /** [tenantId, position], [requestId, position], [operation, position], [actorId, position] → ''. */
  auditOfTenant: Index
  auditOfRequest: Index
  auditOfOperation: Index
  auditOfActor: Index
  /** tenantId → { seq, hash } of its last record ever appended, and of its last pruned one. */
  heads: Text
  anchors: Text
  /** Grant events, numbered: every process polls them, so a revoke in one reaches all. */
  grantLog: Database<string, number>
}

export function openTables (dataDir: string): Tables {
  const root = open<unknown, Key>({
    path: join(dataDir, DATABASE_FILE),
    maxDbs: 32,
    // A commit is written under the write lock and fsynced after it (on lmdb's write thread), so the
    // next batch's transaction runs while the previous one is being flushed. inTransaction resolves
    // only once its commit is flushed: an acknowledged access must survive a power cut.
    overlappingSync: true,
    compression: false,
    // Our writes are all transaction callbacks, batched by lmdb as they queue. Event-turn batching
    // would add a batch-start write whose promise nobody holds: a failed commit (a full disk) would
    // reject it unhandled and take the process down.
    eventTurnBatching: false,
    noMemInit: false
  })
  const text = (name: string): Text => root.openDB<string, Key>({ name, encoding: 'string' })
  const index = (name: string): Index => root.openDB<string | Uint8Array, Key>({ name, encoding: 'string' })
  return {
    root,
    counters: root.openDB<number, Key>({ name: 'counters' }),
    requests: text('requests'),
    requestOrder: text('requestOrder'),
    requestOrderOfTenant: text('requestOrderOfTenant'),
    requestsOfServiceRequest: text('requestsOfServiceRequest'),
    unsettled: text('unsettled'),
    serviceRequests: text('serviceRequests'),
    serviceRequestOrder: text('serviceRequestOrder'),
    settings: text('settings'),
    notifications: text('notifications'),
    notificationPlace: root.openDB<number[], Key>({ name: 'notificationPlace' }),
    notificationOrder: text('notificationOrder'),
    notificationsOfStatus: text('notificationsOfStatus'),
    notificationsOfRequest: text('notificationsOfRequest'),
    audit: root.openDB<string, number>({ name: 'audit', encoding: 'string', keyEncoding: 'uint32' }),
    auditBytes: root.openDB<Buffer, number>({ name: 'audit', encoding: 'binary', keyEncoding: 'uint32' }),
    auditOfTenant: index('auditOfTenant'),
    auditOfRequest: index('auditOfRequest'),
    auditOfOperation: index('auditOfOperation'),
    auditOfActor: index('auditOfActor'),
    heads: text('heads'),
    anchors: text('anchors'),
    grantLog: root.openDB<string, number>({ name: 'grantLog', encoding: 'string', keyEncoding: 'uint32' })
  }
}

/**
 * Runs `work` in the next asynchronous write transaction and resolves once its commit is on disk.
 * When the commit fails (a full disk), lmdb also rejects a second promise with the cause, which
 * nobody else holds: it is caught here, so that the failure reaches the caller alone and never the
 * process as an unhandled rejection.
 */
export async function inTransaction<T> (t: Tables, work: () => T): Promise<T> {
  try {
    const result = await t.root.transaction(work)
    // Resolves once every commit so far is flushed: this one's, and possibly later ones'.
    await t.root.flushed
    return result
  } catch (error) {
    ;(error as { commitError?: Promise<unknown> }).commitError?.catch(() => {})
    throw error
  }
}

/** Only the owner may read the files (LMDB creates them with the process umask). */
export async function restrictFiles (dataDir: string): Promise<void> {
  const path = join(dataDir, DATABASE_FILE)
  await chmod(path, FILE_MODE)
  await chmod(path + '-lock', FILE_MODE)
}
