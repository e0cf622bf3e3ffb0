// The shapes of the /v1 answers the admin center reads (see /docs/json for the exact schemas).

export interface Me {
  id: string
  name: string
  email: string | null
  tenantId: string
  provider: boolean
  roles: string[]
}

export interface HistoryEntry {
  at: string
  action: string
  actor: { id: string, role: string }
  comment: string | null
}

export interface LockboxRequest {
  id: string
  tenantId: string
  serviceRequestNumber: string
  workload: string
  scope: string
  accessLevel: string
  duration: string
  justification: string
  status: string
  requester: { id: string, name: string }
  createdAt: string
  decisionDeadline: string | null
  accessStartsAt: string | null
  accessEndsAt: string | null
  history: HistoryEntry[]
  // Absent from gateways older than approval policies (docs/approval-policy.md).
  approvals?: Approval[]
  approvalsRequired?: number | null
  granted?: Grant | null
  extension?: Extension | null
}

export interface Grant { scope: string, accessLevel: string, duration: string }

export interface Approval { by: string, at: string, comment: string | null, onBehalfOf: string | null, granted: Grant }

export interface Extension {
  duration: string
  justification: string
  status: string
  decisionDeadline: string | null
  approvals: Array<{ by: string, onBehalfOf: string | null }>
  approvalsRequired: number | null
  grantedDuration: string | null
}

export interface Delegation {
  id: string
  from: string
  to: string
  until: string
  createdAt: string
  createdBy: string
  status: string
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface AuditRecord {
  id: string
  tenantId: string
  seq: number
  time: string
  operation: string
  result: string
  actor: { id: string, type: string }
  // A record is shown as stored: one written by an earlier version may lack any of these.
  clientIp?: string | null
  requestId?: string | null
  workload?: string | null
  object?: string | null
  details?: Record<string, unknown>
}

export interface Tenant {
  id: string
  displayName: string
  lockboxEnabled: boolean
  approverEmails: string[]
  approvalsRequired?: number
  requireSignedApprovals?: boolean
}

export interface DevUser {
  id: string
  name: string
  tid: string
  roles: string[]
}

export const STATUSES = [
  'AwaitingManagerApproval',
  'AwaitingCustomerApproval',
  'Approved',
  'Denied',
  'RejectedByManager',
  'Expired',
  'Revoked',
  'Canceled',
  'Completed'
] as const
