// The operations an audit record can name (API.md §6). Apart from audit.ts, which hashes with
// node:crypto, so that the API schemas (and the admin center's types built from them) can name them.

/**
 * Every operation, in the contract's order, and its kind: `transition`, a step of a request's own
 * state (its record carries the status it left, `details.status`), or `other`.
 */
const OPERATIONS = {
  ServiceRequestOpened: 'other',
  ServiceRequestClosed: 'other',
  LockboxRequestCreated: 'transition',
  LockboxRequestManagerApproved: 'transition',
  LockboxRequestManagerRejected: 'transition',
  ApproversNotified: 'other',
  LockboxRequestApproved: 'transition',
  LockboxRequestDenied: 'transition',
  LockboxRequestExpired: 'transition',
  LockboxRequestCanceled: 'transition',
  LockboxAccessRevoked: 'transition',
  LockboxAccessCompleted: 'transition',
  LockboxAccessTokenIssued: 'other',
  ContentAccessed: 'other',
  ContentAccessCompleted: 'other',
  ContentAccessDenied: 'other',
  TenantSettingsUpdated: 'other',
  ApproverKeyRegistered: 'other',
  ApproverKeyRevoked: 'other',
  // Approval policy (quorum, extension, delegation): added after the contract's list, never renamed.
  LockboxRequestApprovalAdded: 'transition',
  LockboxExtensionRequested: 'transition',
  LockboxExtensionManagerApproved: 'transition',
  LockboxExtensionManagerRejected: 'transition',
  LockboxExtensionApprovalAdded: 'transition',
  LockboxExtensionApproved: 'transition',
  LockboxExtensionDenied: 'transition',
  LockboxExtensionExpired: 'transition',
  ApprovalDelegated: 'other',
  ApprovalDelegationRevoked: 'other'
} as const

export type AuditOperation = keyof typeof OPERATIONS
export const AUDIT_OPERATIONS = Object.keys(OPERATIONS) as readonly AuditOperation[]

export type TransitionOperation = { [K in AuditOperation]: typeof OPERATIONS[K] extends 'transition' ? K : never }[AuditOperation]
/** The records of a request's own transitions: each carries the status it left (`details.status`). */
export const REQUEST_OPERATIONS: readonly TransitionOperation[] = AUDIT_OPERATIONS.filter((operation): operation is TransitionOperation => OPERATIONS[operation] === 'transition')
