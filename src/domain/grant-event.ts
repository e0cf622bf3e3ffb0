// What a request's step implies for the grants the hot path caches: a step that takes a request out
// of Approved ends its grant, and every process and replica must drop it (and cut its transfers) at
// once. Decided here, from the step the workflow already computed; the stores only publish it.
import type { LockboxRequest, RequestStatus } from './lockbox.js'

/** A request left Approved: `status` is where it went (Revoked, Completed...). */
export interface GrantEvent { requestId: string, tenantId: string, status: RequestStatus }

/**
 * The grant events of a step that takes a request from its stored status `from` to `next`: one when
 * it leaves Approved, none otherwise (an extension keeps the request Approved and ends nothing).
 */
export function grantEventsOf (from: RequestStatus, next: Pick<LockboxRequest, 'id' | 'tenantId' | 'status'>): GrantEvent[] {
  return from === 'Approved' && next.status !== 'Approved' ? [{ requestId: next.id, tenantId: next.tenantId, status: next.status }] : []
}
