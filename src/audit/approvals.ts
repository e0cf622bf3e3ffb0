// The offline proof of approvals (issue 19): walking an export, every approval of a tenant whose
// published keys are given is checked from its record alone. The record carries the signed grant and
// the approvers' WebAuthn assertions; the grant must be this record's request, and the signatures
// must verify against the tenant's keys and meet the quorum in force at that point of the chain.
// An approved extension of the window likewise: signed over this extension of that very approval.
import type { AuditRecord } from '../domain/audit.js'
import { verifySignedApproval, type ApproverKeySet, type SignedApproval } from '../domain/approval.js'
import { verifySignedExtension, type SignedExtension } from '../domain/signed-extension.js'

export interface ApprovalTally {
  /** Records that opened access (customer approval, or a manager's with lockbox off), or extended it. */
  approvals: number
  /** Of these, extensions of a window. */
  extensions: number
  /** Of these, carrying approver signatures that verify and meet the quorum. */
  proven: number
  /** Of these, carrying no signatures while the chain did not require them. */
  unsigned: number
}

interface TenantState {
  keys: ApproverKeySet
  required: boolean
  quorum: number
  tally: ApprovalTally
  /** The proven approval of each request, which its extensions must extend. */
  approved: Map<string, SignedApproval>
  /** The quorum each request was fixed to as it reached the customer (its manager approval's record). */
  fixed: Map<string, number>
}

type Changes = Record<string, { to?: unknown } | undefined>

/** Did this record open access to content? */
function opensAccess (record: AuditRecord): boolean {
  return record.operation === 'LockboxRequestApproved' ||
    (record.operation === 'LockboxRequestManagerApproved' && record.details?.status === 'Approved')
}

/** The extension a record approved (a customer quorum, or a manager with lockbox off), if it did. */
function extensionApproved (record: AuditRecord): Record<string, unknown> | null {
  const extension = record.details?.extension as Record<string, unknown> | undefined
  const approved = record.operation === 'LockboxExtensionApproved' ||
    (record.operation === 'LockboxExtensionManagerApproved' && extension?.status === 'Approved')
  return approved ? extension ?? {} : null
}

function isSignedApproval (value: unknown): value is SignedApproval & SignedExtension {
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
    for (const keys of keySets) {
      this.tenants.set(keys.tenantId, { keys, required: false, quorum: 1, tally: { approvals: 0, extensions: 0, proven: 0, unsigned: 0 }, approved: new Map(), fixed: new Map() })
    }
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
    if (record.operation === 'LockboxRequestManagerApproved' && typeof record.details?.required === 'number') {
      state.fixed.set(record.requestId as string, record.details.required)
      return
    }
    const extension = extensionApproved(record)
    if (!opensAccess(record) && extension === null) return
    state.tally.approvals++
    if (extension !== null) state.tally.extensions++
    const where = `tenant ${record.tenantId}: request ${String(record.requestId)} ${extension === null ? 'approved' : 'extended'} at seq ${record.seq}`
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
    if (extension !== null) {
      this.pushExtension(state, record, extension, approval, where)
      return
    }
    const mismatch = grantMismatch(record, approval)
    if (mismatch !== null) {
      this.problems.push(`${where}: the signed grant's ${mismatch} is not the approved request's`)
      return
    }
    // The quorum the request was fixed to as it reached the customer; an approval's record may not lower it.
    const fixed = state.fixed.get(record.requestId as string)
    const claimed = typeof record.details?.required === 'number' ? record.details.required : undefined
    if (fixed !== undefined && claimed !== undefined && claimed !== fixed) {
      this.problems.push(`${where}: its record names a quorum of ${claimed}, while the request was fixed to ${fixed} as it reached the customer`)
      return
    }
    // Else as its record says (a request reviewed before this export began), else the tenant's at that point.
    const required = fixed ?? claimed ?? state.quorum
    const check = verifySignedApproval(approval, state.keys, required)
    if (!check.ok) {
      this.problems.push(`${where}: ${check.reason}`)
      return
    }
    state.approved.set(record.requestId as string, approval)
    state.tally.proven++
  }

  /**
   * An extension's signatures: over an extension of the request's proven approval (seen earlier in
   * this export), adding the time the record says was granted to the window end it says was moved,
   * from the quorum the extension needed.
   */
  private pushExtension (state: TenantState, record: AuditRecord, extension: Record<string, unknown>, signed: SignedExtension, where: string): void {
    const approval = state.approved.get(record.requestId as string)
    if (approval === undefined) {
      this.problems.push(`${where}: the approval it extends is not a proven approval in this export`)
      return
    }
    const { grant } = signed
    if (grant.duration !== extension.grantedDuration || grant.accessEndsAt !== extension.previousAccessEndsAt) {
      this.problems.push(`${where}: the signed extension is not the extension recorded`)
      return
    }
    const check = verifySignedExtension(signed, approval, state.keys, typeof extension.required === 'number' ? extension.required : state.quorum)
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
