// State at rest the chain backs: every stored request must be in the state its own
// transition records leave it in. A status edited in the data dir (Revoked → Approved while the
// gateway was stopped) would otherwise revive the request's old tokens. Backend-agnostic: it reads
// through LockboxStore and AuditLog only, so every backend gets it.
import { REQUEST_OPERATIONS } from '../domain/audit-operations.js'
import { stateMismatch, type StateMismatch } from '../domain/invariant.js'
import type { AuditRecord } from '../domain/audit.js'
import type { LockboxRequest } from '../domain/lockbox.js'
import type { AuditLog, LockboxStore } from './types.js'

const PAGE = 200

async function transitionsOf (audit: AuditLog, request: LockboxRequest): Promise<AuditRecord[]> {
  const records: AuditRecord[] = []
  let cursor: string | undefined
  do {
    const page = await audit.query({ tenantId: request.tenantId, requestId: request.id, operations: [...REQUEST_OPERATIONS], limit: PAGE, cursor })
    records.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
  return records
}

export interface StateCheckOptions {
  /** Only this tenant's requests (default: every tenant's). */
  tenantId?: string
  /**
   * Only the requests that grant access at `now` (effectively Approved): the ones an edit could
   * revive, and few, so a start-up stays quick. Default: every request.
   */
  approvedOnly?: boolean
  now: number
  /** Stop after this many mismatches (default: all). */
  limit?: number
}

/** The stored requests their chain does not back, oldest-listed first. */
export async function unbackedRequests (lockbox: LockboxStore, audit: AuditLog, options: StateCheckOptions): Promise<StateMismatch[]> {
  const found: StateMismatch[] = []
  const limit = options.limit ?? Number.POSITIVE_INFINITY
  let cursor: string | undefined
  do {
    const page = await lockbox.listRequests({
      ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
      ...(options.approvedOnly === true ? { status: 'Approved' as const } : {}),
      now: options.now,
      limit: PAGE,
      cursor
    })
    for (const request of page.items) {
      const mismatch = stateMismatch(request, await transitionsOf(audit, request))
      if (mismatch !== null) found.push(mismatch)
      if (found.length >= limit) return found
    }
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
  return found
}
