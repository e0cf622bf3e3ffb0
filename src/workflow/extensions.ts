// Extending an Approved request's window (issue 18): asked for by its requester, reviewed by a
// manager and decided by the customer's quorum through the same endpoints as the request itself,
// while the current access continues. Each step commits with its record, compare-and-set.
import { parseAccessDuration } from '../domain/duration.js'
import { extensionStatus, extensionTransition, type Extension, type ExtensionEvent, type ExtensionResult } from '../domain/extension.js'
import { effectiveStatus, type ActingRole, type LockboxRequest } from '../domain/lockbox.js'
import { may } from '../domain/policy.js'
import { alreadyApproved } from '../domain/quorum.js'
import { approvalsRequiredOf } from '../domain/tenant.js'
import { AlreadyApproved, Forbidden, GrantWidened, InvalidState, ValidationFailed } from '../errors.js'
import { extensionNotices } from '../notify/messages.js'
import { retryOnConflict, type Acting, type WorkflowContext } from './context.js'
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
  return await commitExtensionStep(ctx, acting, req, role, event, action.comment ?? null)
}

async function commitExtensionStep (ctx: WorkflowContext, acting: Acting, req: LockboxRequest, role: ActingRole, event: ExtensionEvent, comment: string | null): Promise<LockboxRequest> {
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
  const notices = extensionNotices(next, req.requesterEmail, { ...ctx.notices, tenant, now })
  return await commitTransition(ctx, acting, role, req, next, notices, result.operation, { from: 'Approved', status: 'Approved', comment, extension: extensionDetails(next) })
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
