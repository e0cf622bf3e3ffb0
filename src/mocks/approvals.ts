// The signed-approvals mode of the mock content services (issue 19, LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS):
// what a content-service owner does to trust no one but the customer's approvers. The gateway's
// assertion carries the approval; the service checks that it is this grant's and that the tenant's
// approvers signed it, against the keys the tenant publishes, with the one shared verifier.
import { verifySignedApproval, type ApproverKeySet, type SignedApproval } from '../domain/approval.js'
import type { Workload } from '../domain/lockbox.js'

/** The tenant's published approver keys (GET /v1/tenants/{id}/approver-keys). */
export type ApproverKeySource = (tenantId: string) => Promise<ApproverKeySet>

/** Fetches the published keys over HTTP, keeping each tenant's set for `maxAgeMs`. */
export function remoteApproverKeys (gatewayUrl: string, maxAgeMs = 30_000, now = Date.now): ApproverKeySource {
  const cache = new Map<string, { set: ApproverKeySet, at: number }>()
  return async function fetchApproverKeys (tenantId) {
    const cached = cache.get(tenantId)
    if (cached !== undefined && now() - cached.at < maxAgeMs) return cached.set
    const res = await fetch(new URL(`/v1/tenants/${encodeURIComponent(tenantId)}/approver-keys`, gatewayUrl))
    if (!res.ok) throw new Error(`approver keys of ${tenantId}: HTTP ${res.status}`)
    const set = await res.json() as ApproverKeySet
    cache.set(tenantId, { set, at: now() })
    return set
  }
}

export interface ApprovedClaims {
  requestId: string
  tenantId: string
  scope: string
  accessLevel: string
  approval?: unknown
}

function isSignedApproval (value: unknown): value is SignedApproval {
  const v = value as Partial<SignedApproval> | null
  return typeof v === 'object' && v !== null && typeof v.grant === 'object' && v.grant !== null && Array.isArray(v.proofs)
}

/**
 * Why the assertion's approval does not prove this access, or null when it does: it must be the
 * approval of this very grant (request, tenant, workload, scope, access level) and carry valid
 * signatures of the tenant's approvers.
 */
export async function approvalRefusal (claims: ApprovedClaims, workload: Workload, keys: ApproverKeySource): Promise<string | null> {
  const approval = claims.approval
  if (!isSignedApproval(approval)) return 'the assertion carries no signed approval'
  const { grant } = approval
  const mismatch = (['requestId', 'tenantId', 'scope', 'accessLevel'] as const).find((k) => grant[k] !== claims[k])
  if (mismatch !== undefined) return `the signed grant's ${mismatch} is not the assertion's`
  if (grant.workload !== workload) return 'the signed grant is for another workload'
  const check = verifySignedApproval(approval, await keys(claims.tenantId), 1)
  return check.ok ? null : check.reason
}
