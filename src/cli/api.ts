// The shapes of the gateway's answers that the CLI reads (API.md §2, §3, §6; GET /v1/me).

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface Me {
  id: string
  name: string
  email: string | null
  tenantId: string
  provider: boolean
  roles: string[]
}

export interface ServiceRequest {
  number: string
  tenantId: string
  title: string
  description: string | null
  status: string
  createdBy: { id: string, name: string }
  createdAt: string
  closedAt?: string | null
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
  /** Absent from gateways older than approval policies. */
  approvals?: Array<{ by: string, at: string, comment: string | null, onBehalfOf: string | null, granted: Grant }>
  approvalsRequired?: number | null
  granted?: Grant | null
  extension?: {
    duration: string
    status: string
    decisionDeadline: string | null
    approvals: Array<{ by: string }>
    approvalsRequired: number | null
    grantedDuration: string | null
  } | null
}

export interface Grant { scope: string, accessLevel: string, duration: string }

export interface Delegation {
  id: string
  from: string
  to: string
  until: string
  createdAt: string
  createdBy: string
  revokedAt: string | null
  revokedBy: string | null
  status: string
}

export interface IssuedToken {
  accessToken: string
  tokenType: string
  expiresAt: string
}

export interface AuditRecord {
  seq: number
  tenantId: string
  time: string
  operation: string
  result: string
  actor: { id: string, type: string }
  requestId: string | null
  workload: string | null
  object: string | null
  [key: string]: unknown
}

export interface ChainVerification {
  tenantId: string
  valid: boolean
  records: number
  headSeq: number
  headHash: string
  firstInvalidSeq: number | null
  /** Absent from a gateway older than these checks. */
  invariantViolations?: Array<{ seq: number, requestId: string, endedBySeq: number }>
  invariantViolationCount?: number
  stateMismatches?: Array<{ requestId: string, storedStatus: string, chainStatus: string | null, seq: number, field: string }>
}
