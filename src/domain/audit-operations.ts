// The operations an audit record can name (API.md §6). Apart from audit.ts, which hashes with
// node:crypto, so that the API schemas (and the admin center's types built from them) can name them.
export const AUDIT_OPERATIONS = [
  'ServiceRequestOpened',
  'ServiceRequestClosed',
  'LockboxRequestCreated',
  'LockboxRequestManagerApproved',
  'LockboxRequestManagerRejected',
  'ApproversNotified',
  'LockboxRequestApproved',
  'LockboxRequestDenied',
  'LockboxRequestExpired',
  'LockboxRequestCanceled',
  'LockboxAccessRevoked',
  'LockboxAccessCompleted',
  'LockboxAccessTokenIssued',
  'ContentAccessed',
  'ContentAccessCompleted',
  'ContentAccessDenied',
  'TenantSettingsUpdated',
  'ApproverKeyRegistered',
  'ApproverKeyRevoked',
  // Approval policy (quorum, extension, delegation): added after the contract's list, never renamed.
  'LockboxRequestApprovalAdded',
  'LockboxExtensionRequested',
  'LockboxExtensionManagerApproved',
  'LockboxExtensionManagerRejected',
  'LockboxExtensionApprovalAdded',
  'LockboxExtensionApproved',
  'LockboxExtensionDenied',
  'LockboxExtensionExpired',
  'ApprovalDelegated',
  'ApprovalDelegationRevoked'
] as const
export type AuditOperation = typeof AUDIT_OPERATIONS[number]
