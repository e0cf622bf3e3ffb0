// A customer quorum: how many distinct people of the tenant must approve, and what access their
// approvals allow together. Pure.
import {
  grantedAccess, intersectAccess, narrowAccess, requestedAccess,
  type AccessNarrowing, type GrantedAccess, type NarrowingRefusal
} from './granted-access.js'
import type { LockboxRequest } from './lockbox.js'

/** Most approvals a tenant may require: beyond this a request is more likely to expire than be decided. */
export const MAX_APPROVALS_REQUIRED = 5

/** The approvals counted so far and how many are needed (1 for a request stored before quorums). */
export function approvalProgress (req: Pick<LockboxRequest, 'approvals' | 'approvalsRequired'>): { approvals: number, required: number } {
  return { approvals: req.approvals?.length ?? 0, required: req.approvalsRequired ?? 1 }
}

/**
 * Whether any of `people` has already counted towards this request's quorum, as approver or as the
 * one a delegate stood in for: a person counts once, however many delegations they hold.
 */
export function alreadyApproved (req: Pick<LockboxRequest, 'approvals'>, people: ReadonlyArray<string | null>): boolean {
  const counted = new Set<string>()
  for (const a of req.approvals ?? []) {
    counted.add(a.by)
    if (a.onBehalfOf !== null) counted.add(a.onBehalfOf)
  }
  return people.some((p) => p !== null && counted.has(p))
}

export type ApprovalAccess =
  | { ok: true, allowed: GrantedAccess, access: GrantedAccess }
  | { ok: false, refusal: NarrowingRefusal }

/**
 * One approver's narrowing, checked against what was requested (`allowed`), and intersected with
 * what the earlier approvers allowed (`access`, the grant if this approval completes the quorum).
 */
export function approvalAccess (req: LockboxRequest, narrowing: AccessNarrowing): ApprovalAccess {
  const narrowed = narrowAccess(requestedAccess(req), narrowing)
  if (!narrowed.ok) return narrowed
  const together = (req.approvals ?? []).length === 0 ? narrowed : intersectAccess(grantedAccess(req), narrowed.access)
  if (!together.ok) return together
  return { ok: true, allowed: narrowed.access, access: together.access }
}
