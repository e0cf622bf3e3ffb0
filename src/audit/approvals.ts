// The offline proof of approvals (issue 19): walking an export, every approval of a tenant whose
// published keys are given is checked from its record alone. The record carries the signed grant and
// the approvers' WebAuthn assertions; the grant must be this record's request, and the signatures
// must verify against the tenant's keys and meet the quorum in force at that point of the chain.
import type { AuditRecord } from '../domain/audit.js'
import { verifySignedApproval, type ApproverKeySet, type SignedApproval } from '../domain/approval.js'

export interface ApprovalTally {
  /** Records that opened access (customer approval, or a manager's with lockbox off). */
  approvals: number
  /** Of these, carrying approver signatures that verify and meet the quorum. */
  proven: number
  /** Of these, carrying no signatures while the chain did not require them. */
  unsigned: number
}

interface TenantState { keys: ApproverKeySet, required: boolean, quorum: number, tally: ApprovalTally }

type Changes = Record<string, { to?: unknown } | undefined>

/** Did this record open access to content? */
function opensAccess (record: AuditRecord): boolean {
  return record.operation === 'LockboxRequestApproved' ||
    (record.operation === 'LockboxRequestManagerApproved' && record.details?.status === 'Approved')
}

function isSignedApproval (value: unknown): value is SignedApproval {
  const v = value as Partial<SignedApproval> | null | undefined
  return typeof v === 'object' && v !== null && typeof v.grant === 'object' && v.grant !== null && Array.isArray(v.proofs)
}

/** Whether the signed grant is the grant this record approved: same request, tenant, workload, terms. */
function grantMismatch (record: AuditRecord, approval: SignedApproval): string | null {
  const { grant } = approval
  const { details } = record
  // What the record says was granted: the approvers' narrowed grant, or what was asked.
  const granted = (details.granted ?? { scope: record.object, accessLevel: details.accessLevel, duration: details.duration }) as Record<string, unknown>
  const expected: Record<string, unknown> = {
    requestId: record.requestId,
    tenantId: record.tenantId,
    workload: record.workload,
    scope: granted.scope,
    accessLevel: granted.accessLevel,
    duration: granted.duration,
    requester: details.requester,
    serviceRequestNumber: details.serviceRequestNumber
  }
  const field = Object.keys(expected).find((k) => grant[k as keyof typeof grant] !== expected[k])
  return field === undefined ? null : field
}

export class ApprovalAuditor {
  private readonly tenants = new Map<string, TenantState>()
  readonly problems: string[] = []

  constructor (keySets: ApproverKeySet[]) {
    for (const keys of keySets) this.tenants.set(keys.tenantId, { keys, required: false, quorum: 1, tally: { approvals: 0, proven: 0, unsigned: 0 } })
  }

  push (record: AuditRecord): void {
    const state = this.tenants.get(record.tenantId)
    if (state === undefined) return
    if (record.operation === 'TenantSettingsUpdated') {
      const changes = (record.details?.changes ?? {}) as Changes
      if (typeof changes.requireSignedApprovals?.to === 'boolean') state.required = changes.requireSignedApprovals.to
      if (typeof changes.approvalsRequired?.to === 'number') state.quorum = changes.approvalsRequired.to
      return
    }
    if (!opensAccess(record)) return
    state.tally.approvals++
    const where = `tenant ${record.tenantId}: request ${String(record.requestId)} approved at seq ${record.seq}`
    const approval = record.details?.approval
    if (approval === undefined) {
      if (state.required) this.problems.push(`${where} without approver signatures, while signed approvals were required`)
      else state.tally.unsigned++
      return
    }
    if (!isSignedApproval(approval)) {
      this.problems.push(`${where}: its approval is not a signed approval`)
      return
    }
    const mismatch = grantMismatch(record, approval)
    if (mismatch !== null) {
      this.problems.push(`${where}: the signed grant's ${mismatch} is not the approved request's`)
      return
    }
    // The quorum the request was fixed to, as its record says; else the tenant's at that point.
    const required = typeof record.details?.required === 'number' ? record.details.required : state.quorum
    const check = verifySignedApproval(approval, state.keys, required)
    if (!check.ok) {
      this.problems.push(`${where}: ${check.reason}`)
      return
    }
    state.tally.proven++
  }

  tally (tenantId: string): ApprovalTally | undefined {
    return this.tenants.get(tenantId)?.tally
  }
}
