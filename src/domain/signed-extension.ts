// Extensions the customer can prove (issue 19 on issue 18): what an approver signs to lengthen an
// approved request's window, and the window the signatures prove. Without this, an insider who can
// write to the store could move `accessEndsAt` and the signed approval would still verify: the
// approval signs a duration, and the extensions sign how far past which end the window may go.
// Like approval.ts, this is the one definition of the signed bytes (docs/security.md). Pure.
import { grantChallenge, verifyQuorum, type ApproverKeySet, type ProofCheck, type SignedApproval } from './approval.js'
import { parseAccessDuration } from './duration.js'
import type { LockboxRequest } from './lockbox.js'
import { EXTENSION_TYPE, type CanonicalExtension, type SignedExtension } from './signed-approval.js'

export { EXTENSION_TYPE, type CanonicalExtension, type SignedExtension }

export type ExtensionSource = Pick<LockboxRequest, 'id' | 'tenantId' | 'requester' | 'accessEndsAt'> & {
  extension?: { justification: string, requestedAt: string } | null
}

/**
 * The canonical extension of a request's pending extension, for `duration` more time, extending
 * the approval whose grant is `approved` (the request's granted grant).
 */
export function canonicalExtension (req: ExtensionSource, approvedChallenge: string, duration: string): CanonicalExtension {
  const ext = req.extension as NonNullable<ExtensionSource['extension']>
  return {
    type: EXTENSION_TYPE,
    requestId: req.id,
    tenantId: req.tenantId,
    extends: approvedChallenge,
    accessEndsAt: req.accessEndsAt as string,
    duration,
    requester: req.requester.id,
    justification: ext.justification,
    requestedAt: ext.requestedAt
  }
}

const SAME_EXTENSION = ['type', 'requestId', 'tenantId', 'extends', 'accessEndsAt', 'requester', 'justification', 'requestedAt'] as const

/** Whether an approver who signed `signed` allowed at least `granted`: the same extension, no less time. */
export function extensionWithin (granted: CanonicalExtension, signed: CanonicalExtension): boolean {
  if (SAME_EXTENSION.some((k) => granted[k] !== signed[k])) return false
  const grantedMs = parseAccessDuration(granted.duration)
  const signedMs = parseAccessDuration(signed.duration)
  return grantedMs !== null && signedMs !== null && grantedMs <= signedMs
}

/**
 * A signed extension of `approval`: an extension (never a grant) of this very approval, for its
 * request, tenant and requester, whose signatures meet `required` over the time it adds.
 */
export function verifySignedExtension (extension: SignedExtension, approval: SignedApproval, keys: ApproverKeySet, required: number): ProofCheck {
  const { grant } = extension
  if (grant.type !== EXTENSION_TYPE) return { ok: false, reason: 'an extension\'s grant is not an extension' }
  if (grant.extends !== grantChallenge(approval.grant)) return { ok: false, reason: 'an extension extends another approval' }
  const mismatch = (['requestId', 'tenantId', 'requester'] as const).find((k) => grant[k] !== approval.grant[k])
  if (mismatch !== undefined) return { ok: false, reason: `an extension's ${mismatch} is not the approval's` }
  if (Number.isNaN(Date.parse(grant.accessEndsAt))) return { ok: false, reason: 'an extension names no window end' }
  return verifyQuorum(extension, keys, required, extensionWithin)
}

/** Every signed extension of an approval verifies; `required` gives each one's quorum. */
export function verifyExtensions (approval: SignedApproval, keys: ApproverKeySet, required: (extension: SignedExtension) => number): ProofCheck {
  for (const extension of approval.extensions ?? []) {
    const check = verifySignedExtension(extension, approval, keys, required(extension))
    if (!check.ok) return check
  }
  return { ok: true }
}

/**
 * The latest end of access the signatures allow (epoch ms), or null if they name none: the grant's
 * duration from when the last approver's approval was accepted, or the end an extension signed
 * (the window it extended plus the time it added), whichever is latest. Checks no signature:
 * verify the approval and its extensions first.
 */
export function signedWindowEnd (approval: SignedApproval): number | null {
  const approvedAt = Math.max(...approval.proofs.map((p) => Date.parse(p.approvedAt)))
  const duration = parseAccessDuration(approval.grant.duration)
  if (!Number.isFinite(approvedAt) || duration === null) return null
  let end = approvedAt + duration
  for (const { grant } of approval.extensions ?? []) {
    const added = parseAccessDuration(grant.duration)
    const from = Date.parse(grant.accessEndsAt)
    if (added !== null && !Number.isNaN(from)) end = Math.max(end, from + added)
  }
  return end
}
