// The storage interfaces every backend implements (embedded files, Redis). Both pass the same
// contract suite (test/stores/contract.ts). All methods reject with StoreUnavailableError when the
// backend cannot answer, and callers turn that into 503: nothing proceeds on unknown state.
import type { AuditDraft, AuditOperation, AuditRecord, ChainHead, ChainVerification } from '../domain/audit.js'
import type { GrantEvent } from '../domain/grant-event.js'
import type { LockboxRequest, RequestStatus } from '../domain/lockbox.js'
import type { ServiceRequest, TenantSettings } from '../domain/tenant.js'
import type { OutboxMessage } from '../notify/types.js'
import type { RedisClient } from './redis/connect.js'

export interface Page<T> { items: T[], nextCursor: string | null }

/** A versioned write: `expectedVersion` 0 creates; the stored value gets `expectedVersion + 1`. */
export interface VersionedPut<T> { value: T, expectedVersion: number }

/**
 * One atomic step: every put is a compare-and-set on its version, and the audit drafts are sealed
 * onto their tenant's chain in the same step. Either all of it is durable, or none of it happened.
 * All entities of one change belong to one tenant (so a Redis Cluster keeps them in one slot).
 */
export interface Change {
  tenantId: string
  requests?: Array<VersionedPut<LockboxRequest>>
  serviceRequests?: Array<VersionedPut<ServiceRequest>>
  tenantSettings?: VersionedPut<TenantSettings>
  /** Notifications created or updated by this change, compare-and-set like the other entities. */
  notifications?: Array<VersionedPut<OutboxMessage>>
  audit: AuditDraft[]
  /**
   * What the change implies for cached grants, as the workflow decided it from the transition it
   * computed (src/domain/grant-event.ts): published on `grantEvents` once the change is durable, to
   * this process, the store's other processes and every replica; never when the change is refused.
   * A store publishes exactly these and derives none of its own. Each belongs to the change's tenant.
   */
  grantEvents?: GrantEvent[]
  /**
   * The enforcement invariant (API.md §5): a grant that must still be Approved for this change to
   * commit, checked in the same atomic step as the seal, on every backend and replica. Approved
   * means: the request `requestId` of this change's tenant is stored with status Approved and `now`
   * (epoch ms, the caller's clock) is before its `accessEndsAt`. Otherwise the whole change is
   * refused with GrantEndedError and nothing is written, so no ContentAccessed ever follows, in a
   * tenant's chain, the record that ended its approval.
   */
  requireApproved?: { requestId: string, now: number }
}

export interface RequestQuery {
  tenantId?: string
  requesterId?: string
  /** Effective status at `now` (API.md §3: status is evaluated against the current time). */
  status?: RequestStatus
  now: number
  limit: number
  cursor?: string
}

export interface AuditQuery {
  tenantId?: string
  /** Tenants the caller may read; undefined means all (security readers). */
  tenantIds?: string[]
  requestId?: string
  operations?: AuditOperation[]
  actorId?: string
  /** Inclusive lower and exclusive upper bound on `time`, epoch ms. */
  from?: number
  to?: number
  limit: number
  cursor?: string
}

export interface LockboxStore {
  /**
   * Commits a change atomically and durably. Resolves with the sealed audit records once durable.
   * Rejects with ConflictError (nothing written) if any expected version is stale, GrantEndedError if
   * its `requireApproved` grant has ended. Once durable, the change's own `grantEvents` are published
   * on `grantEvents`, and only then.
   */
  commit: (change: Change) => Promise<AuditRecord[]>

  getTenantSettings: (tenantId: string) => Promise<TenantSettings | null>

  /** A fresh service request number for the tenant, unique across replicas. */
  nextServiceRequestNumber: (tenantId: string) => Promise<string>
  getServiceRequest: (tenantId: string, number: string) => Promise<ServiceRequest | null>
  listServiceRequests: (tenantId: string, page: { limit: number, cursor?: string }) => Promise<Page<ServiceRequest>>

  getRequest: (id: string) => Promise<LockboxRequest | null>
  /** Newest first. */
  listRequests: (query: RequestQuery) => Promise<Page<LockboxRequest>>
  /** Requests of one service request, any status. */
  listRequestsOfServiceRequest: (tenantId: string, number: string) => Promise<LockboxRequest[]>
  /** Requests whose stored status is not final: the sweeper's work list. */
  listUnsettledRequests: () => Promise<LockboxRequest[]>

  /** Pending notifications due at `now` (nextAttemptAt <= now and leaseUntil <= now), in every tenant, soonest first. */
  listDueNotifications: (now: number, limit: number) => Promise<OutboxMessage[]>
  /** Notifications, newest first (createdAt), optionally of one status and/or one lockbox request. */
  listNotifications: (query: { status?: OutboxMessage['status'], requestId?: string, limit: number }) => Promise<OutboxMessage[]>
}

/** A chain walk as a store reports it: from the tenant's anchor once retention has pruned its start. */
export interface AuditVerification extends ChainVerification {
  /**
   * Present once retention pruned records of the tenant: the seq of the last pruned record. The walk
   * began after it (at `anchorSeq + 1`, expecting its hash as `prevHash`), and `records` counts only
   * the kept records.
   */
  anchorSeq?: number
}

export interface AuditLog {
  /** Oldest first. */
  query: (query: AuditQuery) => Promise<Page<AuditRecord>>
  /** Every matching record, oldest first, streamed (no page size). */
  export: (query: Omit<AuditQuery, 'limit' | 'cursor'>) => AsyncIterable<AuditRecord>
  /**
   * The same records as NDJSON, in chunks: one record's JSON per line, as the record was sealed, or
   * the JSON of what `map` makes of it (another format). Without `map`, a backend that keeps each
   * record's text writes it out as it is (no parse, no serialisation).
   */
  exportNdjson: (query: Omit<AuditQuery, 'limit' | 'cursor'>, map?: (record: AuditRecord) => unknown) => AsyncIterable<string | Uint8Array>
  /** Walks the tenant's chain from its first kept record (from the genesis, or from its anchor). */
  verify: (tenantId: string) => Promise<AuditVerification>
  /** The tenant's last record ever appended, pruned or not: where its next record continues. */
  head: (tenantId: string) => Promise<ChainHead>
  /**
   * Retention: deletes every record whose `time` is before `before` (epoch ms), in every tenant, and
   * resolves with how many were deleted. Each tenant keeps an anchor, the seq and hash of its last
   * deleted record, so that its chain stays whole: `head` and the next appended record continue
   * from it (a tenant whose every record was pruned goes on at anchor seq + 1 with the anchor's hash
   * as `prevHash`, never back at 1), and `verify` walks from it. Query, export and the request id
   * index no longer find deleted records.
   */
  prune: (before: number) => Promise<number>
  /**
   * Each batch of records once durable, in commit order: this replica's and, on a shared backend,
   * every replica's. Feeds the live stream; a listener must not throw or block.
   */
  subscribe: (listener: (records: AuditRecord[]) => void) => () => void
}

/** Published when a request leaves Approved, so every replica drops its cached grant at once. */
export type { GrantEvent }

export interface GrantEvents {
  publish: (event: GrantEvent) => Promise<void>
  subscribe: (listener: (event: GrantEvent) => void) => () => void
  /**
   * Called each time the event subscription was renewed after a break (a shared backend's pub/sub
   * connection dropped and came back): events published meanwhile may be lost, so a listener
   * re-reads what they would have told it (the gateway re-checks every grant in flight). The
   * subscription is active again when it is called. A backend whose events cannot be lost (one
   * process) never calls it.
   */
  resubscribed: (listener: () => void) => () => void
}

/**
 * Where a SIEM sink (src/siem) stands in one tenant's chain, and which replica delivers it now. Kept
 * in the store so that a restart resumes where delivery stopped, and so that of several replicas one
 * at a time delivers a tenant (the lease, compare-and-set like the notification outbox's claims).
 */
export interface SiemCursor {
  sink: string
  tenantId: string
  /** The last record the sink acknowledged: seq 0 and the genesis hash before any. */
  seq: number
  hash: string
  /** That record's time (ISO 8601), where reading resumes; null before any. */
  time: string | null
  /** Who holds the delivery lease (a forwarder's id), and until when (epoch ms); null and 0 when nobody. */
  owner: string | null
  leaseUntil: number
  version: number
}

export interface SiemCursors {
  get: (sink: string, tenantId: string) => Promise<SiemCursor | null>
  /**
   * Compare-and-set: stores `cursor` as version `expectedVersion + 1` if the stored version is
   * `expectedVersion` (0: none stored) and resolves true; otherwise writes nothing and resolves false.
   */
  put: (cursor: Omit<SiemCursor, 'version'>, expectedVersion: number) => Promise<boolean>
}

/**
 * Commits that reached the backend, and the batches they went in: write transactions (each one
 * fsync) on the embedded store, commit script calls on Redis. commits / batches is the mean batch.
 */
export interface CommitBatching {
  readonly batches: number
  readonly commits: number
}

/** Everything a backend provides, plus its lifecycle. */
export interface Stores {
  lockbox: LockboxStore
  audit: AuditLog
  grantEvents: GrantEvents
  siemCursors: SiemCursors
  /**
   * A shared backend's command client, for counters every replica must agree on beside the store's
   * own data (the refusal budget, under its own key prefix); absent on the embedded store.
   */
  redis?: { client: RedisClient, refusalBudgetPrefix: string }
  /** How well the backend batches its commits, counted since it opened (for the metrics). */
  batching: () => CommitBatching
  /** Resolves true when the backend answers. Never rejects. */
  ping: () => Promise<boolean>
  /** Flushes pending writes and releases resources. */
  close: () => Promise<void>
}
