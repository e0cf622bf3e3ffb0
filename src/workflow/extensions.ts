// Extending an Approved request's window (issue 18): asked for by its requester, reviewed by a
// manager and decided by the customer's quorum through the same endpoints as the request itself,
// while the current access continues. Each step commits with its record, compare-and-set.
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { canonicalGrant, grantChallenge } from '../domain/approval.js'
import { parseAccessDuration } from '../domain/duration.js'
import { extensionStatus, extensionTransition, type Extension, type ExtensionEvent, type ExtensionResult } from '../domain/extension.js'
import { grantedAccess, narrowAccess, type AccessNarrowing } from '../domain/granted-access.js'
import { effectiveStatus, type ActingRole, type LockboxRequest } from '../domain/lockbox.js'
import { may, type Caller } from '../domain/policy.js'
import { alreadyApproved } from '../domain/quorum.js'
import { canonicalExtension, type CanonicalExtension, type SignedExtension } from '../domain/signed-extension.js'
import { approvalsRequiredOf, type Tenant } from '../domain/tenant.js'
import { AlreadyApproved, Forbidden, GrantWidened, InvalidState, ValidationFailed } from '../errors.js'
import { extensionNotices } from '../notify/messages.js'
import { retryOnConflict, type Acting, type WorkflowContext } from './context.js'
import { decisionProof, signingChallenge } from './passkeys.js'
import { commitTransition, loadVisibleRequest, tenantOf } from './requests.js'

export interface ExtendInput { duration: string, justification: string }

/** The requester asks for more time on an Approved request. */
export async function requestExtension (ctx: WorkflowContext, acting: Acting, id: string, input: ExtendInput): Promise<LockboxRequest> {
  const durationMs = parseAccessDuration(input.duration)
  if (durationMs === null) throw new ValidationFailed(`duration "${input.duration}" is not a positive ISO 8601 duration of the form PT…H…M…S`)
  if (durationMs > ctx.maxAccessMs) throw new ValidationFailed(`duration "${input.duration}" exceeds the longest access window allowed (LOCKBOX_MAX_ACCESS)`)
  return await retryOnConflict(async () => {
    const req = await loadVisibleRequest(ctx, acting.caller, id)
    if (!may.cancel(acting.caller, req)) throw new Forbidden('only the requester extends a lockbox request')
    return await commitExtensionStep(ctx, acting, req, 'SupportEngineer', { kind: 'Request', duration: input.duration, durationMs, justification: input.justification }, input.justification)
  })
}

/** A request with an extension asked for. */
export type ExtendedRequest = LockboxRequest & { extension: Extension }

/** Whether a review or decision on this request is about its extension: it is Approved and one awaits. */
export function extensionPending (req: LockboxRequest, now: number): req is ExtendedRequest {
  const status = extensionStatus(req, now)
  return effectiveStatus(req, now) === 'Approved' && (status === 'AwaitingManagerApproval' || status === 'AwaitingCustomerApproval')
}

export interface ExtensionDecision {
  kind: 'review' | 'decision'
  decision: 'Approve' | 'Reject' | 'Deny'
  comment?: string
  duration?: string
  onBehalfOf: string | null
  /** The approver's passkey signature over the canonical extension (issue 19). */
  webauthn?: AuthenticationResponseJSON
}

/** A manager's review or a customer's decision of the pending extension (already authorised for the request). */
export async function decideExtension (ctx: WorkflowContext, acting: Acting, req: ExtendedRequest, role: ActingRole, action: ExtensionDecision): Promise<LockboxRequest> {
  let event: ExtensionEvent
  if (action.kind === 'review') {
    event = action.decision === 'Approve' ? { kind: 'ManagerApprove' } : { kind: 'ManagerReject' }
  } else if (action.decision === 'Approve') {
    if (alreadyApproved(req.extension, [acting.caller.id, action.onBehalfOf])) {
      throw new AlreadyApproved(`${acting.caller.id} has already approved this extension`)
    }
    event = { kind: 'CustomerApprove', duration: action.duration, onBehalfOf: action.onBehalfOf }
  } else {
    event = { kind: 'CustomerDeny', onBehalfOf: action.onBehalfOf }
  }
  return await commitExtensionStep(ctx, acting, req, role, event, action.comment ?? null, action.webauthn)
}

async function commitExtensionStep (
  ctx: WorkflowContext, acting: Acting, req: LockboxRequest, role: ActingRole, event: ExtensionEvent, comment: string | null,
  webauthn?: AuthenticationResponseJSON
): Promise<LockboxRequest> {
  const tenant = await tenantOf(ctx, req)
  const now = ctx.now()
  const result: ExtensionResult = extensionTransition(req, event, {
    now,
    actor: { id: acting.caller.id, role },
    comment,
    pendingTtlMs: ctx.pendingTtlMs,
    maxAccessMs: ctx.maxAccessMs,
    lockboxEnabled: tenant.lockboxEnabled,
    approvalsRequired: approvalsRequiredOf(tenant)
  })
  if (!result.ok) {
    if (result.reason === 'narrowing') throw result.refusal.code === 'GRANT_WIDENED' ? new GrantWidened(result.refusal.detail) : new ValidationFailed(result.refusal.detail)
    throw new InvalidState(`cannot ${event.kind === 'Request' ? 'extend' : 'decide the extension of'} a request that is ${result.status}`)
  }
  const next = result.request
  const signing = event.kind === 'CustomerApprove'
  if (signing) await signExtension(ctx, tenant, req, next, acting, webauthn, now)
  const notices = extensionNotices(next, req.requesterEmail, { ...ctx.notices, tenant, now })
  return await commitTransition(ctx, acting, role, req, next, notices, result.operation, {
    from: 'Approved',
    status: 'Approved',
    comment,
    extension: extensionDetails(next),
    // As a request's approval record carries its signatures, so does an extension's.
    approval: signing ? (next.extension as Extension).signed ?? undefined : undefined
  })
}

/** The approval an extension extends, as its approvers sign it: the challenge of the request's granted grant. */
function extendedGrant (req: LockboxRequest): string {
  return grantChallenge(canonicalGrant(req, grantedAccess(req)))
}

/** The canonical extension of the pending extension, for `duration` (the approver's) more time. */
export function extensionGrant (req: LockboxRequest, duration: string): CanonicalExtension {
  return canonicalExtension(req, extendedGrant(req), duration)
}

/**
 * The approver's signature over the extension they allow (the same check as a request's approval:
 * required when the tenant requires signed approvals, kept whenever given). The extension gathers
 * one proof per approver; approved, it joins the request's signed approval, so the token and the
 * upstream assertion carry it and the window it proves.
 */
async function signExtension (
  ctx: WorkflowContext, tenant: Tenant, req: LockboxRequest, next: LockboxRequest, acting: Acting, webauthn: AuthenticationResponseJSON | undefined, now: number
): Promise<void> {
  const ext = next.extension as Extension
  const mine = ext.approvals[ext.approvals.length - 1] as Extension['approvals'][number]
  const signed = extensionGrant(req, mine.access.duration)
  const proof = await decisionProof(ctx, tenant, req.id, signed, acting.caller.id, webauthn, now)
  if (proof === null) return
  // What the approvers allow together: the shortest time any of them allowed.
  const [shortest] = ext.approvals.map((a) => a.access).sort((a, b) => a.durationMs - b.durationMs)
  const together: SignedExtension = {
    grant: extensionGrant(req, (shortest as typeof mine.access).duration),
    proofs: [...(req.extension?.signed?.proofs ?? []), proof],
    // Fixed when the manager passed the extension to the customer, before any customer decision.
    required: ext.approvalsRequired as number
  }
  next.extension = { ...ext, signed: together }
  if (ext.status === 'Approved' && next.approval != null) {
    next.approval = { ...next.approval, extensions: [...(next.approval.extensions ?? []), together] }
  }
}

/** What an approver signs to allow the pending extension (perhaps for less time), with WebAuthn options. */
export async function extensionChallenge (
  ctx: WorkflowContext, caller: Caller, req: LockboxRequest, narrowing: AccessNarrowing
): Promise<{ grant: CanonicalExtension, challenge: string, options: unknown }> {
  if (narrowing.scope !== undefined || narrowing.accessLevel !== undefined) {
    throw new ValidationFailed('an extension is approved for the access already granted: only its duration can be narrowed')
  }
  const ext = req.extension as Extension
  const asked = { ...grantedAccess(req), duration: ext.duration, durationMs: ext.durationMs }
  const allowed = narrowAccess(asked, narrowing.duration === undefined ? {} : { duration: narrowing.duration })
  if (!allowed.ok) throw allowed.refusal.code === 'GRANT_WIDENED' ? new GrantWidened(allowed.refusal.detail) : new ValidationFailed(allowed.refusal.detail)
  return await signingChallenge(ctx, caller, req.tenantId, extensionGrant(req, allowed.access.duration))
}

/** What an extension record says of it: enough to read on its own. */
export function extensionDetails (req: LockboxRequest): Record<string, unknown> {
  const ext = req.extension
  /* c8 ignore next -- called only after an extension step, which always leaves one */
  if (ext === undefined || ext === null) return {}
  return {
    duration: ext.duration,
    status: ext.status,
    approvals: ext.approvals.length,
    required: ext.approvalsRequired,
    grantedDuration: ext.grantedDuration,
    previousAccessEndsAt: ext.previousAccessEndsAt
  }
}

/** The change that writes down an extension the clock expired (for the sweeper), or null. */
export function expireExtension (req: LockboxRequest, now: number, ctx: WorkflowContext): ExtensionResult {
  return extensionTransition(req, { kind: 'Expire' }, { now, actor: { id: 'system', role: 'System' }, pendingTtlMs: ctx.pendingTtlMs, maxAccessMs: ctx.maxAccessMs })
}
