// The shapes of the /v1 answers the admin center reads: the `Static<>` types of the API's own
// schemas (src/routes/schemas.ts; type-only, so nothing of the server is loaded in the browser).
import type { STATUSES as REQUEST_STATUSES } from '../../src/domain/lockbox.js'

export type { Approval, AuditRecord, Delegation, Extension, Grant, HistoryEntry, LockboxRequest, Me, Page, Tenant } from '../../src/routes/api-types.js'

export interface DevUser {
  id: string
  name: string
  tid: string
  roles: string[]
}

/** The request statuses in the order the API lists them; typed as that list, so it cannot drift. */
export const STATUSES: typeof REQUEST_STATUSES = [
  'AwaitingManagerApproval',
  'AwaitingCustomerApproval',
  'Approved',
  'RejectedByManager',
  'Denied',
  'Expired',
  'Revoked',
  'Canceled',
  'Completed'
]
