// Extension without a gap: while a request is Approved its requester may ask for more time, which
// goes through the same stages as the request (manager, then the customer's quorum) while the
// current access continues. Approved, the window grows; denied, rejected or expired, it is
// untouched. Each step is one history entry and one record, like the request's own transitions. Pure.
import {
  effectiveStatus, iso,
  type Approval, type HistoryActor, type HistoryEntry, type LockboxRequest
} from './lockbox.js'
import { intersectAccess, narrowAccess, type GrantedAccess, type NarrowingRefusal } from './granted-access.js'
import type { SignedExtension } from './signed-approval.js'

export const EXTENSION_STATUSES = [
  'AwaitingManagerApproval', 'AwaitingCustomerApproval', 'Approved', 'RejectedByManager', 'Denied', 'Expired', 'Canceled'
] as const
export type ExtensionStatus = typeof EXTENSION_STATUSES[number]

/** The latest extension asked for on a request (earlier ones live on in its history and records). */
export interface Extension {
  duration: string
  durationMs: number
  justification: string
  requestedAt: string
  status: ExtensionStatus
  decisionDeadline: string | null
  approvals: Approval[]
  /** Null while with the manager; fixed (the tenant's quorum) when it reaches the customer. */
  approvalsRequired: number | null
  /** The extra time the approvals allow together (the shortest); null until approved. */
  grantedDuration: string | null
  /** How far the window was moved when approved. */
  previousAccessEndsAt: string | null
  /** The approvers' signatures so far (issue 19): once approved, appended to the request's approval. */
  signed?: SignedExtension | null
}

export type ExtensionOperation =
  | 'LockboxExtensionRequested'
  | 'LockboxExtensionManagerApproved'
  | 'LockboxExtensionManagerRejected'
  | 'LockboxExtensionApprovalAdded'
  | 'LockboxExtensionApproved'
  | 'LockboxExtensionDenied'
  | 'LockboxExtensionExpired'

export type ExtensionAction =
  | 'ExtensionRequested'
  | 'ExtensionManagerApproved'
  | 'ExtensionManagerRejected'
  | 'ExtensionApprovalAdded'
  | 'ExtensionApproved'
  | 'ExtensionDenied'
  | 'ExtensionExpired'

const AWAITING: ReadonlySet<ExtensionStatus> = new Set(['AwaitingManagerApproval', 'AwaitingCustomerApproval'])

/**
 * The extension's status at `now`: an awaiting one past its deadline is Expired, and one whose
 * request no longer grants access (revoked, canceled, over) is Canceled with it.
 */
export function extensionStatus (req: LockboxRequest, now: number): ExtensionStatus | null {
  const ext = req.extension
  if (ext === undefined || ext === null) return null
  if (!AWAITING.has(ext.status)) return ext.status
  if (ext.decisionDeadline !== null && now >= Date.parse(ext.decisionDeadline)) return 'Expired'
  if (effectiveStatus(req, now) !== 'Approved') return 'Canceled'
  return ext.status
}

export interface ExtensionContext {
  now: number
  actor: HistoryActor
  comment?: string | null
  pendingTtlMs: number
  /** The longest window one approval may open (LOCKBOX_MAX_ACCESS). */
  maxAccessMs: number
  lockboxEnabled?: boolean
  approvalsRequired?: number
}

export type ExtensionEvent =
  | { kind: 'Request', duration: string, durationMs: number, justification: string }
  | { kind: 'ManagerApprove' }
  | { kind: 'ManagerReject' }
  | { kind: 'CustomerApprove', duration?: string, onBehalfOf?: string | null }
  | { kind: 'CustomerDeny', onBehalfOf?: string | null }
  | { kind: 'Expire' }

export type ExtensionResult =
  | { ok: true, request: LockboxRequest, operation: ExtensionOperation }
  | { ok: false, reason: 'state', status: string }
  | { ok: false, reason: 'narrowing', refusal: NarrowingRefusal }

const NEEDS: Record<ExtensionEvent['kind'], ExtensionStatus | null> = {
  Request: null,
  ManagerApprove: 'AwaitingManagerApproval',
  ManagerReject: 'AwaitingManagerApproval',
  CustomerApprove: 'AwaitingCustomerApproval',
  CustomerDeny: 'AwaitingCustomerApproval',
  Expire: 'Expired'
}

/** Applies one step to the request's extension at `ctx.now`. */
export function extensionTransition (req: LockboxRequest, event: ExtensionEvent, ctx: ExtensionContext): ExtensionResult {
  const requestStatus = effectiveStatus(req, ctx.now)
  const current = extensionStatus(req, ctx.now)
  if (event.kind === 'Request') {
    if (requestStatus !== 'Approved') return { ok: false, reason: 'state', status: requestStatus }
    if (current !== null && AWAITING.has(current)) return { ok: false, reason: 'state', status: `Approved with an extension ${current}` }
    const deadline = Math.min(ctx.now + ctx.pendingTtlMs, Date.parse(req.accessEndsAt as string))
    const ext: Extension = {
      duration: event.duration,
      durationMs: event.durationMs,
      justification: event.justification,
      requestedAt: iso(ctx.now),
      status: 'AwaitingManagerApproval',
      decisionDeadline: iso(deadline),
      approvals: [],
      approvalsRequired: null,
      grantedDuration: null,
      previousAccessEndsAt: null
    }
    return step(req, ext, 'ExtensionRequested', 'LockboxExtensionRequested', ctx)
  }
  const ext = req.extension as Extension
  const expected = NEEDS[event.kind]
  if (current !== expected || (event.kind === 'Expire' && ext.status === 'Expired')) {
    return { ok: false, reason: 'state', status: current === null ? `${requestStatus} without an extension` : `${requestStatus} with an extension ${current}` }
  }
  switch (event.kind) {
    case 'ManagerApprove':
      if (ctx.lockboxEnabled === false) return grow(req, { ...ext, grantedDuration: ext.duration }, ext.durationMs, 'ExtensionManagerApproved', 'LockboxExtensionManagerApproved', ctx)
      return step(req, { ...ext, status: 'AwaitingCustomerApproval', approvalsRequired: ctx.approvalsRequired ?? 1 }, 'ExtensionManagerApproved', 'LockboxExtensionManagerApproved', ctx)
    case 'ManagerReject':
      return step(req, { ...ext, status: 'RejectedByManager', decisionDeadline: null }, 'ExtensionManagerRejected', 'LockboxExtensionManagerRejected', ctx)
    case 'CustomerDeny':
      return step(req, { ...ext, status: 'Denied', decisionDeadline: null }, 'ExtensionDenied', 'LockboxExtensionDenied', ctx, event.onBehalfOf ?? null)
    case 'Expire':
      return step(req, { ...ext, status: 'Expired', decisionDeadline: null }, 'ExtensionExpired', 'LockboxExtensionExpired', { ...ctx, actor: { id: 'system', role: 'System' }, comment: null }, null, Date.parse(ext.decisionDeadline as string))
    case 'CustomerApprove':
      return approveExtension(req, ext, event, ctx)
    /* c8 ignore next 2 -- Request is handled above; the switch covers every other kind */
    default:
      throw new Error('unreachable')
  }
}

function extensionAccess (req: LockboxRequest, duration: string, durationMs: number): GrantedAccess {
  return { scope: req.scope, accessLevel: req.accessLevel, duration, durationMs }
}

function approveExtension (req: LockboxRequest, ext: Extension, event: Extract<ExtensionEvent, { kind: 'CustomerApprove' }>, ctx: ExtensionContext): ExtensionResult {
  // An approver may give less time than asked for, never more; with a quorum, the shortest counts.
  const narrowed = narrowAccess(extensionAccess(req, ext.duration, ext.durationMs), event.duration === undefined ? {} : { duration: event.duration })
  if (!narrowed.ok) return { ok: false, reason: 'narrowing', refusal: narrowed.refusal }
  let together = narrowed.access
  for (const a of ext.approvals) together = (intersectAccess(together, extensionAccess(req, a.access.duration, a.access.durationMs)) as { ok: true, access: GrantedAccess }).access
  const approval: Approval = { by: ctx.actor.id, at: iso(ctx.now), comment: ctx.comment ?? null, onBehalfOf: event.onBehalfOf ?? null, access: narrowed.access }
  const approvals = [...ext.approvals, approval]
  // Fixed when the extension reached the customer, the only stage a customer approves in.
  if (approvals.length < (ext.approvalsRequired as number)) {
    return step(req, { ...ext, approvals }, 'ExtensionApprovalAdded', 'LockboxExtensionApprovalAdded', ctx, event.onBehalfOf ?? null)
  }
  return grow(req, { ...ext, approvals, grantedDuration: together.duration }, together.durationMs, 'ExtensionApproved', 'LockboxExtensionApproved', ctx, event.onBehalfOf ?? null)
}

/** Approved: the window grows by the granted time, but never past one approval's longest window from now. */
function grow (req: LockboxRequest, ext: Extension, durationMs: number, action: ExtensionAction, operation: ExtensionOperation, ctx: ExtensionContext, onBehalfOf: string | null = null): ExtensionResult {
  const end = Math.min(Date.parse(req.accessEndsAt as string) + durationMs, ctx.now + ctx.maxAccessMs)
  const grown: LockboxRequest = { ...req, accessEndsAt: iso(Math.max(end, Date.parse(req.accessEndsAt as string))) }
  return step(grown, { ...ext, status: 'Approved', decisionDeadline: null, previousAccessEndsAt: req.accessEndsAt }, action, operation, ctx, onBehalfOf)
}

function step (req: LockboxRequest, ext: Extension, action: ExtensionAction, operation: ExtensionOperation, ctx: ExtensionContext, onBehalfOf: string | null = null, at = ctx.now): ExtensionResult {
  const entry: HistoryEntry = { at: iso(at), action, actor: ctx.actor, comment: ctx.comment ?? null }
  if (onBehalfOf !== null) entry.onBehalfOf = onBehalfOf
  return { ok: true, request: { ...req, extension: ext, history: [...req.history, entry] }, operation }
}

/** The extension as clients see it, at `now`. */
export function viewExtension (req: LockboxRequest, now: number): PublicExtension | null {
  const ext = req.extension
  if (ext === undefined || ext === null) return null
  return {
    duration: ext.duration,
    justification: ext.justification,
    requestedAt: ext.requestedAt,
    status: extensionStatus(req, now) as ExtensionStatus,
    decisionDeadline: ext.decisionDeadline,
    approvals: ext.approvals.map((a) => ({ by: a.by, at: a.at, comment: a.comment, onBehalfOf: a.onBehalfOf, duration: a.access.duration })),
    approvalsRequired: ext.approvalsRequired,
    grantedDuration: ext.grantedDuration,
    previousAccessEndsAt: ext.previousAccessEndsAt
  }
}

export interface PublicExtension {
  duration: string
  justification: string
  requestedAt: string
  status: ExtensionStatus
  decisionDeadline: string | null
  approvals: Array<{ by: string, at: string, comment: string | null, onBehalfOf: string | null, duration: string }>
  approvalsRequired: number | null
  grantedDuration: string | null
  previousAccessEndsAt: string | null
}

/** When an awaiting extension expires by itself (for the sweeper), or null. */
export function extensionDeadline (req: LockboxRequest): number | null {
  const ext = req.extension
  if (ext === undefined || ext === null || !AWAITING.has(ext.status) || ext.decisionDeadline === null) return null
  return Date.parse(ext.decisionDeadline)
}
