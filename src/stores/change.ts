// What every backend checks of a Change before committing it.
import { effectiveStatus, type LockboxRequest, type RequestStatus } from '../domain/lockbox.js'
import { GrantEndedError } from '../errors.js'
import type { Change } from './types.js'

/**
 * Every entity, draft and grant event of a change must belong to the change's tenant: its chain, and
 * (on Redis) its hash slot.
 */
export function assertOneTenant (change: Change): void {
  const tenants = [
    ...(change.requests ?? []).map((put) => put.value.tenantId),
    ...(change.serviceRequests ?? []).map((put) => put.value.tenantId),
    ...[change.tenantSettings?.value.tenantId].filter((tenantId) => tenantId !== undefined),
    ...(change.notifications ?? []).map((put) => put.value.tenantId),
    ...change.audit.map((draft) => draft.tenantId),
    ...(change.grantEvents ?? []).map((event) => event.tenantId)
  ]
  const stranger = tenants.find((tenantId) => tenantId !== change.tenantId)
  if (stranger !== undefined) throw new Error(`a change of tenant ${change.tenantId} touches tenant ${stranger}`)
}

/**
 * Why a change of `tenantId` guarded by `guard` (its `requireApproved`) is refused, given the request
 * as stored now (null: none); null when it is still Approved. For a backend that holds its state in memory
 * and checks it in the same synchronous section as the seal; Redis runs the same rule in its script.
 */
export function grantEnded (tenantId: string, guard: NonNullable<Change['requireApproved']>, stored: LockboxRequest | null): GrantEndedError | null {
  if (stored === null || stored.tenantId !== tenantId) return new GrantEndedError(guard.requestId, null)
  const status: RequestStatus = effectiveStatus(stored, guard.now)
  return status === 'Approved' ? null : new GrantEndedError(guard.requestId, status)
}
