// Lockbox request actions (API.md §3): authorise, run the state machine, commit with the audit record.
import { parseAccessDuration } from '../domain/duration.js'
import { parseScope } from '../domain/grant.js'
import { grantEventsOf } from '../domain/grant-event.js'
import { grantedAccess, narrowAccess, publicGrant, requestedAccess, type AccessNarrowing, type GrantedAccess, type NarrowingRefusal } from '../domain/granted-access.js'
import {
  createRequest, effectiveStatus, transition,
  type AccessLevel, type ActingRole, type LockboxEvent, type LockboxRequest, type TransitionContext, type Workload
} from '../domain/lockbox.js'
import { alreadyApproved, approvalAccess, approvalProgress } from '../domain/quorum.js'
import { approvalsRequiredOf } from '../domain/tenant.js'
import { customerActingRole, may, violatesSeparationOfDuties, type Caller } from '../domain/policy.js'
import {
  AlreadyApproved, Forbidden, GrantDisjoint, GrantWidened, InvalidState, NotFound, SeparationOfDuties, ServiceRequestInvalid, ValidationFailed
} from '../errors.js'
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { canonicalGrant, type Signable, type SignedApproval } from '../domain/approval.js'
import { decisionProof, signingChallenge } from './passkeys.js'
import { draft, retryOnConflict, type Acting, type WorkflowContext } from './context.js'
import { randomUUID } from 'node:crypto'
import type { Tenant } from '../domain/tenant.js'
import { delegateNotices, noticesFor } from '../notify/messages.js'
import type { OutboxMessage } from '../notify/types.js'
import type { AuditOperation } from '../domain/audit.js'
import type { Delegation } from '../domain/delegation.js'
import { standInFor } from './delegations.js'
import { decideExtension, extensionChallenge, extensionPending } from './extensions.js'

export interface CreateRequestInput {
  tenantId: string
  serviceRequestNumber: string
  workload: Workload
  duration: string
  justification: string
  accessLevel?: AccessLevel
  scope?: string
}

export async function createLockboxRequest (ctx: WorkflowContext, acting: Acting, input: CreateRequestInput): Promise<LockboxRequest> {
  const { caller } = acting
  if (!may.createRequest(caller)) throw new Forbidden('only support engineers create lockbox requests')
  const durationMs = parseAccessDuration(input.duration)
  if (durationMs === null) throw new ValidationFailed(`duration "${input.duration}" is not a positive ISO 8601 duration of the form PT…H…M…S`)
  if (durationMs > ctx.maxAccessMs) throw new ValidationFailed(`duration "${input.duration}" exceeds the longest access window allowed (LOCKBOX_MAX_ACCESS)`)
  const scope = input.scope ?? '/'
  if (parseScope(scope) === null) throw new ValidationFailed(`scope "${scope}" is not a canonical path (absolute, percent-encoded, no dot segments, no empty segments)`)
  const tenant = await ctx.tenants.get(input.tenantId)
  if (tenant === null) throw new ServiceRequestInvalid(`tenant "${input.tenantId}" does not exist`)

  return await retryOnConflict(async () => {
    const sr = await ctx.stores.lockbox.getServiceRequest(input.tenantId, input.serviceRequestNumber)
    if (sr === null) throw new ServiceRequestInvalid(`service request ${input.serviceRequestNumber} does not exist in tenant ${input.tenantId}`)
    if (sr.status !== 'Open') throw new ServiceRequestInvalid(`service request ${input.serviceRequestNumber} is ${sr.status}`)
    const now = ctx.now()
    const req = createRequest({
      id: randomUUID(),
      tenantId: input.tenantId,
      serviceRequestNumber: sr.number,
      workload: input.workload,
      scope,
      accessLevel: input.accessLevel ?? 'read',
      duration: input.duration,
      durationMs,
      justification: input.justification,
      requester: { id: caller.id, name: caller.name }
    }, { now, pendingTtlMs: ctx.pendingTtlMs })
    req.requesterEmail = caller.email
    await ctx.stores.lockbox.commit({
      tenantId: req.tenantId,
      requests: [{ value: req, expectedVersion: 0 }],
      // Rewriting the service request unchanged makes its version part of the compare-and-set: a
      // close racing with this create cannot leave an open request on a closed service request.
      serviceRequests: [{ value: sr, expectedVersion: sr.version }],
      audit: [draft('LockboxRequestCreated', req.tenantId, acting, 'SupportEngineer', {
        requestId: req.id,
        workload: req.workload,
        object: req.scope,
        details: requestDetails(req, { status: req.status })
      })]
    })
    return { ...req, version: 1 }
  })
}

/**
 * The request if the caller may see it; 404 otherwise, so its existence does not leak. A person
 * holding a delegation of approving sees their tenant's requests while it runs.
 */
export async function loadVisibleRequest (ctx: WorkflowContext, caller: Caller, id: string): Promise<LockboxRequest> {
  const req = await ctx.stores.lockbox.getRequest(id)
  if (req !== null && (may.seeRequest(caller, req) || await standInFor(ctx, caller, req.tenantId) !== null)) return req
  throw new NotFound(`lockbox request ${id} not found`)
}

export type RequestAction =
  | { kind: 'review', decision: 'Approve' | 'Reject', comment?: string }
  | { kind: 'decision', decision: 'Approve' | 'Deny', comment?: string, onBehalfOf?: string, webauthn?: AuthenticationResponseJSON } & AccessNarrowing
  | { kind: 'revoke', comment?: string }
  | { kind: 'cancel', comment?: string }

interface Authorised { event: LockboxEvent, role: ActingRole }

function authorise (caller: Caller, req: LockboxRequest, action: RequestAction, standIn: Delegation | null): Authorised {
  switch (action.kind) {
    case 'review':
      if (!may.review(caller)) throw new Forbidden('only support managers review lockbox requests')
      if (violatesSeparationOfDuties(caller, req)) throw new SeparationOfDuties('a support manager cannot review a request they created')
      return { event: action.decision === 'Approve' ? 'ManagerApprove' : 'ManagerReject', role: 'SupportManager' }
    case 'decision': {
      if (!may.decide(caller, req) && standIn === null) throw new Forbidden(`only the approvers of tenant ${req.tenantId} decide its lockbox requests`)
      // A delegate decides in the approver's role, whatever their own.
      const role = standIn !== null && !may.decide(caller, req) ? 'CustomerLockboxApprover' : customerActingRole(caller)
      return { event: action.decision === 'Approve' ? 'CustomerApprove' : 'CustomerDeny', role }
    }
    case 'revoke':
      if (!may.decide(caller, req)) throw new Forbidden(`only the approvers of tenant ${req.tenantId} revoke its lockbox access`)
      return { event: 'Revoke', role: customerActingRole(caller) }
    case 'cancel':
      if (!may.cancel(caller, req)) throw new Forbidden('only the requester cancels a lockbox request')
      return { event: 'Cancel', role: 'SupportEngineer' }
  }
}

const VERBS: Record<LockboxEvent, string> = {
  ManagerApprove: 'approve',
  ManagerReject: 'reject',
  CustomerApprove: 'approve',
  CustomerDeny: 'deny',
  Revoke: 'revoke',
  Cancel: 'cancel',
  CloseServiceRequest: 'close',
  Expire: 'expire',
  Complete: 'complete'
}

/** Review, decision, revoke or cancel: exactly one winner when many race, and exactly one record. */
export async function actOnRequest (ctx: WorkflowContext, acting: Acting, id: string, action: RequestAction): Promise<LockboxRequest> {
  return await retryOnConflict(async () => {
    const req = await loadVisibleRequest(ctx, acting.caller, id)
    const standIn = action.kind === 'decision' ? await delegationOf(ctx, acting.caller, req, action.onBehalfOf) : null
    const onBehalfOf = standIn?.from ?? null
    const { event, role } = authorise(acting.caller, req, action, standIn)
    const now = ctx.now()
    if ((action.kind === 'review' || action.kind === 'decision') && extensionPending(req, now)) {
      if (action.kind === 'decision' && (action.scope !== undefined || action.accessLevel !== undefined)) {
        throw new ValidationFailed('an extension is approved for the access already granted: only its duration can be narrowed')
      }
      return await decideExtension(ctx, acting, req, role, { ...action, onBehalfOf })
    }
    const tenant = await tenantOf(ctx, req)
    const approval = event === 'CustomerApprove' ? approvalOf(req, acting.caller, action as Extract<RequestAction, { kind: 'decision' }>, now, onBehalfOf) : undefined
    if (action.kind === 'decision' && action.decision === 'Deny') refuseNarrowedDenial(action)
    const result = transition(req, event, {
      now,
      actor: { id: acting.caller.id, role },
      comment: action.comment ?? null,
      lockboxEnabled: tenant.lockboxEnabled,
      pendingTtlMs: ctx.pendingTtlMs,
      approvalsRequired: approvalsRequiredOf(tenant),
      approval,
      onBehalfOf
    })
    if (!result.ok) throw new InvalidState(`cannot ${VERBS[event]} a request that is ${result.status}`)
    const next = result.request
    if (event === 'CustomerApprove' && action.kind === 'decision') {
      const signed = await signedApproval(ctx, tenant, req, next, approval?.allowed ?? grantedAccess(req), acting, action.webauthn, now)
      if (signed !== null) next.approval = signed
    }
    const notices = noticesFor(next, result.from, next.requesterEmail, { ...ctx.notices, tenant, now })
    if (standIn !== null) notices.push(...delegateNotices(next, standIn, { ...ctx.notices, tenant, now }))
    return await commitTransition(ctx, acting, role, req, next, notices, result.operation, {
      from: result.from,
      status: next.status,
      comment: action.comment ?? null,
      reason: event === 'Cancel' ? 'CanceledByRequester' : undefined,
      onBehalfOf: onBehalfOf ?? undefined,
      ...(event === 'CustomerApprove' ? quorumDetails(next) : {}),
      // The quorum fixed as the request reaches the customer, on the chain before any approval claims one.
      ...(event === 'ManagerApprove' && next.status === 'AwaitingCustomerApproval' ? { required: approvalProgress(next).required } : {}),
      approval: event === 'CustomerApprove' ? next.approval ?? undefined : undefined
    })
  })
}

/**
 * A request's step, whole in one commit: its new state (if nobody changed it meanwhile), the notices
 * it sends, its one record and the grant event it implies (a step out of Approved); then the notifier
 * is woken. Answers the request as stored.
 */
export async function commitTransition (
  ctx: WorkflowContext, acting: Acting | null, role: ActingRole, req: LockboxRequest, next: LockboxRequest,
  notices: OutboxMessage[], operation: AuditOperation, details: Record<string, unknown>
): Promise<LockboxRequest> {
  await ctx.stores.lockbox.commit({
    tenantId: req.tenantId,
    requests: [{ value: next, expectedVersion: req.version }],
    notifications: notices.map((value) => ({ value, expectedVersion: 0 })),
    audit: [draft(operation, req.tenantId, acting, role, {
      requestId: req.id,
      workload: req.workload,
      object: req.scope,
      details: requestDetails(next, details)
    })],
    grantEvents: grantEventsOf(req.status, next)
  })
  if (notices.length > 0) ctx.notificationsQueued()
  return { ...next, version: req.version + 1 }
}

/**
 * A customer's approval: a person counts once towards the quorum, and what they allow is checked
 * against the request (never wider) and intersected with the earlier approvals. Only while the
 * request awaits the customer: otherwise the transition answers 409 as for any decision.
 */
function approvalOf (req: LockboxRequest, caller: Caller, action: Extract<RequestAction, { kind: 'decision' }>, now: number, onBehalfOf: string | null): TransitionContext['approval'] {
  if (effectiveStatus(req, now) !== 'AwaitingCustomerApproval') return undefined
  if (alreadyApproved(req, [caller.id, onBehalfOf])) {
    throw new AlreadyApproved(`${onBehalfOf === null ? caller.id : `${caller.id} (for ${onBehalfOf})`} has already approved this request; it needs ${approvalProgress(req).required} different approvers`)
  }
  const access = approvalAccess(req, { duration: action.duration, scope: action.scope, accessLevel: action.accessLevel })
  if (!access.ok) throw narrowingError(access.refusal)
  return { access: access.access, allowed: access.allowed }
}

/**
 * The delegation a decision is taken under: the one named by `onBehalfOf` (403 if the caller holds
 * none from that person), or, for a caller who is no approver themselves, the oldest they hold.
 */
async function delegationOf (ctx: WorkflowContext, caller: Caller, req: LockboxRequest, onBehalfOf: string | undefined): Promise<Delegation | null> {
  if (onBehalfOf === undefined && may.decide(caller, req)) return null
  const standIn = await standInFor(ctx, caller, req.tenantId, onBehalfOf)
  if (standIn === null && onBehalfOf !== undefined) throw new Forbidden(`${caller.id} holds no delegation from ${onBehalfOf}`)
  return standIn
}

function narrowingError (refusal: NarrowingRefusal): Error {
  switch (refusal.code) {
    case 'GRANT_WIDENED': return new GrantWidened(refusal.detail)
    case 'GRANT_DISJOINT': return new GrantDisjoint(refusal.detail)
    case 'VALIDATION_FAILED': return new ValidationFailed(refusal.detail)
  }
}

/** A denial ends the request: there is nothing to narrow, and a client that sent a grant is confused. */
function refuseNarrowedDenial (action: AccessNarrowing): void {
  if (action.duration !== undefined || action.scope !== undefined || action.accessLevel !== undefined) {
    throw new ValidationFailed('duration, scope and accessLevel narrow an approval; a denial takes none of them')
  }
}

/** What an approval record adds: how far the quorum is, and what the approvals allow so far. */
function quorumDetails (req: LockboxRequest): Record<string, unknown> {
  const progress = approvalProgress(req)
  return { approvals: progress.approvals, required: progress.required }
}

/**
 * The approver's signature over the access they allow (passkeys.ts decisionProof): required when the
 * tenant requires signed approvals, checked and kept whenever one is given. The request's approval
 * gathers one proof per approver of its quorum, and names the grant they allow together.
 */
async function signedApproval (
  ctx: WorkflowContext, tenant: Tenant, req: LockboxRequest, next: LockboxRequest, allowed: GrantedAccess, acting: Acting,
  webauthn: AuthenticationResponseJSON | undefined, now: number
): Promise<SignedApproval | null> {
  const signed = canonicalGrant(req, allowed)
  const proof = await decisionProof(ctx, tenant, req.id, signed, acting.caller.id, webauthn, now)
  if (proof === null) return req.approval ?? null
  return { grant: canonicalGrant(req, grantedAccess(next)), proofs: [...(req.approval?.proofs ?? []), proof] }
}

/**
 * What an approver's authenticator signs to allow this access (narrowed as they ask), with WebAuthn
 * options for it; while an extension awaits the customer, the extension (extensions.ts).
 */
export async function approvalChallenge (
  ctx: WorkflowContext, caller: Caller, id: string, narrowing: AccessNarrowing = {}
): Promise<{ grant: Signable, challenge: string, options: unknown }> {
  const req = await loadVisibleRequest(ctx, caller, id)
  if (!may.decide(caller, req)) throw new Forbidden(`only the approvers of tenant ${req.tenantId} decide its lockbox requests`)
  if (extensionPending(req, ctx.now())) return await extensionChallenge(ctx, caller, req, narrowing)
  const allowed = narrowAccess(requestedAccess(req), narrowing)
  if (!allowed.ok) throw narrowingError(allowed.refusal)
  return await signingChallenge(ctx, caller, req.tenantId, canonicalGrant(req, allowed.access))
}

/** The request's tenant; one removed from the tenants file since is an error, not a crash. */
export async function tenantOf (ctx: WorkflowContext, req: LockboxRequest): Promise<Tenant> {
  const tenant = await ctx.tenants.get(req.tenantId)
  /* c8 ignore next -- tenants leave only by an edit of the tenants file and a restart */
  if (tenant === null) throw new NotFound(`tenant ${req.tenantId} is no longer configured`)
  return tenant
}

/** The fields an auditor wants on every lockbox record, so each record reads on its own. */
export function requestDetails (req: LockboxRequest, extra: Record<string, unknown>): Record<string, unknown> {
  const details: Record<string, unknown> = {
    serviceRequestNumber: req.serviceRequestNumber,
    accessLevel: req.accessLevel,
    duration: req.duration,
    requester: req.requester.id
  }
  if (req.decisionDeadline !== null) details.decisionDeadline = req.decisionDeadline
  if (req.accessStartsAt !== null) details.accessStartsAt = req.accessStartsAt
  if (req.accessEndsAt !== null) details.accessEndsAt = req.accessEndsAt
  if (req.granted !== undefined && req.granted !== null) details.granted = publicGrant(req.granted)
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) details[k] = v
  return details
}
