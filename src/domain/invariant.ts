// What a tenant's chain proves beyond its own integrity, as pure checks over records:
// the enforcement invariant (no ContentAccessed for a request after the record that ended its
// approval), and that the stored state of a request is the state its records leave it in.
import type { AuditOperation, AuditRecord } from './audit.js'
import type { LockboxRequest, RequestStatus } from './lockbox.js'

/**
 * The records after which a request never grants access again: every one that leaves it in a final
 * status (a revoke; a cancel, a service request close or the window's end while approved; and the
 * ends of a request that was never approved).
 */
export const ENDING_OPERATIONS: ReadonlySet<AuditOperation> = new Set<AuditOperation>([
  'LockboxAccessRevoked',
  'LockboxAccessCompleted',
  'LockboxRequestCanceled',
  'LockboxRequestExpired',
  'LockboxRequestDenied',
  'LockboxRequestManagerRejected'
])

/** A ContentAccessed sealed after the record that ended its request's approval. */
export interface InvariantViolation { seq: number, requestId: string, endedBySeq: number }

/** Violations a walk names at most; the count goes on past it. */
export const MAX_REPORTED_VIOLATIONS = 100

/** Fed a tenant's records in chain order; names every ContentAccessed after its request ended. */
export class InvariantChecker {
  private readonly ended = new Map<string, number>()
  private readonly found: InvariantViolation[] = []
  private total = 0

  push (record: Pick<AuditRecord, 'seq' | 'operation' | 'requestId'>): void {
    const requestId = record.requestId
    if (requestId === null) return
    if (ENDING_OPERATIONS.has(record.operation)) {
      if (!this.ended.has(requestId)) this.ended.set(requestId, record.seq)
      return
    }
    if (record.operation !== 'ContentAccessed') return
    const endedBySeq = this.ended.get(requestId)
    if (endedBySeq === undefined) return
    this.total++
    if (this.found.length < MAX_REPORTED_VIOLATIONS) this.found.push({ seq: record.seq, requestId, endedBySeq })
  }

  /** The first violations (up to MAX_REPORTED_VIOLATIONS), and how many there are in all. */
  result (): { invariantViolations: InvariantViolation[], invariantViolationCount: number } {
    return { invariantViolations: [...this.found], invariantViolationCount: this.total }
  }
}

/** A stored request its chain does not back. */
export interface StateMismatch {
  tenantId: string
  requestId: string
  storedStatus: RequestStatus
  /** The status the request's last transition record left it in (null: the record names none). */
  chainStatus: RequestStatus | null
  /** That record's seq. */
  seq: number
  /** What differs: status, accessEndsAt or history. */
  field: 'status' | 'accessEndsAt' | 'history'
}

/**
 * Compares a stored request with its transition records (REQUEST_OPERATIONS, chain order): its
 * status, window end and history must be what the last of them left. Records pruned by retention
 * cannot be compared: with no transition record left there is nothing to judge, and the history
 * length is compared only while the creation record is kept.
 */
export function stateMismatch (request: LockboxRequest, transitions: Array<Pick<AuditRecord, 'seq' | 'operation' | 'details'>>): StateMismatch | null {
  const last = transitions[transitions.length - 1]
  if (last === undefined) return null
  const chainStatus = typeof last.details.status === 'string' ? last.details.status as RequestStatus : null
  const mismatch = (field: StateMismatch['field']): StateMismatch =>
    ({ tenantId: request.tenantId, requestId: request.id, storedStatus: request.status, chainStatus, seq: last.seq, field })
  if (chainStatus !== request.status) return mismatch('status')
  if (request.status === 'Approved' && (last.details.accessEndsAt ?? null) !== request.accessEndsAt) return mismatch('accessEndsAt')
  if (transitions[0]?.operation === 'LockboxRequestCreated' && transitions.length !== request.history.length) return mismatch('history')
  return null
}

/** One line naming the request, for a refusal to start and for `audit verify`. */
export function describeMismatch (mismatch: StateMismatch): string {
  const { tenantId, requestId, storedStatus, chainStatus, seq, field } = mismatch
  const chain = `record ${seq} left it ${chainStatus ?? 'without a status'}`
  const what = field === 'status' ? `is stored as ${storedStatus}` : `is stored with a ${field} its chain does not back`
  return `request ${requestId} of tenant ${tenantId} ${what}, but its audit chain says otherwise (${chain}): the stored state was changed outside the gateway`
}
