// The signed-approvals mode of the mock content services (issue 19, LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS):
// what a content-service owner does to trust no one but the customer's approvers. The gateway's
// assertion carries the approval; the service checks that it is this grant's and that the tenant's
// approvers signed it, against the keys the tenant publishes, with the one shared verifier; and that
// the access it is asked to serve lies within the window those signatures allow (the grant's
// duration from its approval, and the extensions the approvers signed since).
import { verifySignedApproval, type ApproverKeySet, type SignedApproval } from '../domain/approval.js'
import { iso } from '../domain/lockbox.js'
import { signedWindowEnd, verifyExtensions } from '../domain/signed-extension.js'
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
 * Why the assertion's approval does not prove this access at `now`, or null when it does: it must
 * be the approval of this very grant (request, tenant, workload, scope, access level), carry valid
 * signatures of the tenant's approvers, every extension it carries must be theirs too, and `now`
 * must come before the end of the window they signed. (No lower bound: a window starts when the
 * gateway accepted the last approval, and a service whose clock runs behind the gateway's would
 * refuse the first seconds of an honest one.)
 */
export async function approvalRefusal (claims: ApprovedClaims, workload: Workload, keys: ApproverKeySource, now: number): Promise<string | null> {
  const approval = claims.approval
  if (!isSignedApproval(approval)) return 'the assertion carries no signed approval'
  if (approval.extensions !== undefined && !Array.isArray(approval.extensions)) return 'the approval\'s extensions are not a list'
  const { grant } = approval
  const mismatch = (['requestId', 'tenantId', 'scope', 'accessLevel'] as const).find((k) => grant[k] !== claims[k])
  if (mismatch !== undefined) return `the signed grant's ${mismatch} is not the assertion's`
  if (grant.workload !== workload) return 'the signed grant is for another workload'
  const set = await keys(claims.tenantId)
  const check = verifySignedApproval(approval, set, 1)
  if (!check.ok) return check.reason
  const extensions = verifyExtensions(approval, set, () => 1)
  if (!extensions.ok) return extensions.reason
  // A verified approval has a proof and a readable duration, so its window has an end.
  const end = signedWindowEnd(approval) as number
  return now < end ? null : `the window the approvers signed ended at ${iso(end)}`
}
