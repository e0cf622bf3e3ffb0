// The lockbox request state machine of API.md §3, as a table of allowed transitions.
// Pure: every function takes `now` (epoch ms) and returns new values; nothing here does I/O.
import type { SignedApproval } from './signed-approval.js'
import { grantedAccess, publicGrant, type GrantedAccess } from './granted-access.js'
import { viewExtension, type Extension, type ExtensionAction, type ExtensionOperation, type PublicExtension } from './extension.js'

export const WORKLOADS = ['exchange', 'sharepoint', 'onedrive'] as const
export type Workload = typeof WORKLOADS[number]

export const ACCESS_LEVELS = ['read', 'readwrite'] as const
export type AccessLevel = typeof ACCESS_LEVELS[number]

export const STATUSES = [
  'AwaitingManagerApproval',
  'AwaitingCustomerApproval',
  'Approved',
  'RejectedByManager',
  'Denied',
  'Expired',
  'Revoked',
  'Canceled',
  'Completed'
] as const
export type RequestStatus = typeof STATUSES[number]

export const FINAL_STATUSES: ReadonlySet<RequestStatus> = new Set([
  'RejectedByManager', 'Denied', 'Expired', 'Revoked', 'Canceled', 'Completed'
])

const AWAITING: ReadonlySet<RequestStatus> = new Set(['AwaitingManagerApproval', 'AwaitingCustomerApproval'])

/** The role in which someone acted, as shown in a request's history. */
export type ActingRole =
  | 'SupportEngineer'
  | 'SupportManager'
  | 'GlobalAdministrator'
  | 'CustomerLockboxApprover'
  | 'CustomerUser'
  | 'System'

export interface HistoryActor { id: string, role: ActingRole }

export type HistoryAction =
  | 'Created'
  | 'ManagerApproved'
  | 'ApprovalAdded'
  | 'ManagerRejected'
  | 'Approved'
  | 'Denied'
  | 'Expired'
  | 'Revoked'
  | 'Canceled'
  | 'Completed'
  | ExtensionAction

export interface HistoryEntry {
  at: string
  action: HistoryAction
  actor: HistoryActor
  comment: string | null
  /** Present when the actor decided as someone's delegate: the approver they stood in for. */
  onBehalfOf?: string
}

/** One customer approver's yes, with the access they allowed. */
export interface Approval {
  /** The person who approved (a delegate, when `onBehalfOf` is set). */
  by: string
  at: string
  comment: string | null
  onBehalfOf: string | null
  access: GrantedAccess
}

export interface LockboxRequest {
  id: string
  tenantId: string
  serviceRequestNumber: string
  workload: Workload
  scope: string
  accessLevel: AccessLevel
  duration: string
  /** The duration in milliseconds, kept so the window can be computed without re-parsing. */
  durationMs: number
  justification: string
  status: RequestStatus
  requester: { id: string, name: string }
  createdAt: string
  decisionDeadline: string | null
  accessStartsAt: string | null
  accessEndsAt: string | null
  history: HistoryEntry[]
  /** The approvers' signatures over the grant (issue 19), once approved with passkeys. */
  approval?: SignedApproval | null
  /** Compare-and-set version: bumped by the store on every committed change. */
  version: number
  /** Where the requester hears of the outcome (internal: not shown to customers). */
  requesterEmail?: string | null
  /** When the approvers were reminded of a pending decision (internal). */
  reminderSentAt?: string | null
  /**
   * The customer approvals so far, and how many are needed: fixed when the request reaches the
   * customer stage, so a later settings change does not move the goalposts. Absent on requests
   * stored before quorums existed (one approval was needed).
   */
  approvals?: Approval[]
  approvalsRequired?: number | null
  /** What the approvals allow together (the intersection); absent or null: exactly what was asked. */
  granted?: GrantedAccess | null
  /** The latest extension of the access window asked for (see extension.ts). */
  extension?: Extension | null
}

/** The audit operation written for each kind of transition (API.md §6). */
export type LockboxOperation =
  | 'LockboxRequestCreated'
  | 'LockboxRequestManagerApproved'
  | 'LockboxRequestManagerRejected'
  | 'LockboxRequestApprovalAdded'
  | 'LockboxRequestApproved'
  | 'LockboxRequestDenied'
  | 'LockboxRequestExpired'
  | 'LockboxRequestCanceled'
  | 'LockboxAccessRevoked'
  | 'LockboxAccessCompleted'
  | ExtensionOperation

export type LockboxEvent =
  | 'ManagerApprove'
  | 'ManagerReject'
  | 'CustomerApprove'
  | 'CustomerDeny'
  | 'Revoke'
  | 'Cancel'
  | 'CloseServiceRequest'
  | 'Expire'
  | 'Complete'

export interface TransitionContext {
  now: number
  actor: HistoryActor
  comment?: string | null
  /** Whether the tenant has lockbox on: decides where a manager's approval leads. */
  lockboxEnabled?: boolean
  /** How long an awaiting stage may wait for a decision. */
  pendingTtlMs: number
  /** The tenant's quorum, fixed onto the request when it reaches the customer stage (default 1). */
  approvalsRequired?: number
  /**
   * A customer approval: the access this approver allows (`allowed`, checked against the request),
   * and together with the earlier approvals (`access`, see quorum.ts approvalAccess).
   */
  approval?: { access: GrantedAccess, allowed: GrantedAccess }
  /** The approver a delegate decides for (API: `onBehalfOf`), recorded with the decision. */
  onBehalfOf?: string | null
}

interface Rule {
  from: ReadonlySet<RequestStatus>
  apply: (req: LockboxRequest, ctx: TransitionContext) => Step
}

interface Step {
  status: RequestStatus
  action: HistoryAction
  operation: LockboxOperation
  /** When the change took effect: `now`, or the deadline/window end it was due at. */
  at: number
  patch?: Partial<Pick<LockboxRequest, 'decisionDeadline' | 'accessStartsAt' | 'accessEndsAt' | 'approvals' | 'approvalsRequired' | 'granted'>>
}

function openWindow (req: LockboxRequest, now: number, durationMs = req.durationMs): Step['patch'] {
  return {
    decisionDeadline: null,
    accessStartsAt: iso(now),
    accessEndsAt: iso(now + durationMs)
  }
}

/**
 * One more approval: the request stays with the customer until the quorum is reached, and then opens
 * for the access every approver allowed (the intersection, kept in `granted` as it narrows).
 */
function approve (req: LockboxRequest, ctx: TransitionContext): Step {
  const access = ctx.approval?.access ?? grantedAccess(req)
  const approval: Approval = {
    by: ctx.actor.id,
    at: iso(ctx.now),
    comment: ctx.comment ?? null,
    onBehalfOf: ctx.onBehalfOf ?? null,
    access: ctx.approval?.allowed ?? access
  }
  const approvals = [...(req.approvals ?? []), approval]
  if (approvals.length < (req.approvalsRequired ?? 1)) {
    return { status: 'AwaitingCustomerApproval', action: 'ApprovalAdded', operation: 'LockboxRequestApprovalAdded', at: ctx.now, patch: { approvals, granted: access } }
  }
  return { status: 'Approved', action: 'Approved', operation: 'LockboxRequestApproved', at: ctx.now, patch: { ...openWindow(req, ctx.now, access.durationMs), approvals, granted: access } }
}

function endOfAwaiting (req: LockboxRequest): number {
  return Date.parse(req.decisionDeadline as string)
}

function endOfWindow (req: LockboxRequest): number {
  return Date.parse(req.accessEndsAt as string)
}

const only = (...statuses: RequestStatus[]): ReadonlySet<RequestStatus> => new Set(statuses)

/** The allowed transitions. An event not allowed from the current (effective) status is a 409. */
const RULES: Record<LockboxEvent, Rule> = {
  ManagerApprove: {
    from: only('AwaitingManagerApproval'),
    apply: (req, ctx) => ctx.lockboxEnabled === false
      ? { status: 'Approved', action: 'ManagerApproved', operation: 'LockboxRequestManagerApproved', at: ctx.now, patch: openWindow(req, ctx.now) }
      : {
          status: 'AwaitingCustomerApproval',
          action: 'ManagerApproved',
          operation: 'LockboxRequestManagerApproved',
          at: ctx.now,
          patch: { decisionDeadline: iso(ctx.now + ctx.pendingTtlMs), approvals: [], approvalsRequired: ctx.approvalsRequired ?? 1 }
        }
  },
  ManagerReject: {
    from: only('AwaitingManagerApproval'),
    apply: (_req, ctx) => ({ status: 'RejectedByManager', action: 'ManagerRejected', operation: 'LockboxRequestManagerRejected', at: ctx.now, patch: { decisionDeadline: null } })
  },
  CustomerApprove: {
    from: only('AwaitingCustomerApproval'),
    apply: approve
  },
  CustomerDeny: {
    from: only('AwaitingCustomerApproval'),
    apply: (_req, ctx) => ({ status: 'Denied', action: 'Denied', operation: 'LockboxRequestDenied', at: ctx.now, patch: { decisionDeadline: null } })
  },
  Revoke: {
    from: only('Approved'),
    apply: (_req, ctx) => ({ status: 'Revoked', action: 'Revoked', operation: 'LockboxAccessRevoked', at: ctx.now, patch: { accessEndsAt: iso(ctx.now) } })
  },
  Cancel: {
    from: only('AwaitingManagerApproval', 'AwaitingCustomerApproval', 'Approved'),
    apply: (req, ctx) => endEarly(req, ctx)
  },
  CloseServiceRequest: {
    from: only('AwaitingManagerApproval', 'AwaitingCustomerApproval', 'Approved'),
    apply: (req, ctx) => endEarly(req, ctx)
  },
  Expire: {
    from: only('Expired'),
    apply: (req) => ({ status: 'Expired', action: 'Expired', operation: 'LockboxRequestExpired', at: endOfAwaiting(req) })
  },
  Complete: {
    from: only('Completed'),
    apply: (req) => ({ status: 'Completed', action: 'Completed', operation: 'LockboxAccessCompleted', at: endOfWindow(req) })
  }
}

/** Cancel and service-request close: an awaiting request is Canceled, active access is Completed at once. */
function endEarly (req: LockboxRequest, ctx: TransitionContext): Step {
  if (req.status === 'Approved') {
    return { status: 'Completed', action: 'Completed', operation: 'LockboxAccessCompleted', at: ctx.now, patch: { accessEndsAt: iso(ctx.now) } }
  }
  return { status: 'Canceled', action: 'Canceled', operation: 'LockboxRequestCanceled', at: ctx.now, patch: { decisionDeadline: null } }
}

/**
 * The status as of `now`: an awaiting request past its deadline is Expired and an approved one past
 * its window is Completed, whether or not the sweeper has written that down yet.
 */
export function effectiveStatus (req: Pick<LockboxRequest, 'status' | 'decisionDeadline' | 'accessEndsAt'>, now: number): RequestStatus {
  if (AWAITING.has(req.status) && req.decisionDeadline !== null && now >= Date.parse(req.decisionDeadline)) return 'Expired'
  if (req.status === 'Approved' && req.accessEndsAt !== null && now >= Date.parse(req.accessEndsAt)) return 'Completed'
  return req.status
}

export function isFinal (status: RequestStatus): boolean {
  return FINAL_STATUSES.has(status)
}

export type TransitionResult =
  | { ok: true, request: LockboxRequest, operation: LockboxOperation, from: RequestStatus }
  | { ok: false, status: RequestStatus }

/**
 * Applies `event` to the request as it stands at `ctx.now`. The result carries the next value of the
 * request (same version: the store bumps it on commit) and the audit operation to record with it.
 * Expire and Complete only succeed when time has already made them true: they write down what
 * `effectiveStatus` says.
 */
export function transition (req: LockboxRequest, event: LockboxEvent, ctx: TransitionContext): TransitionResult {
  const current = effectiveStatus(req, ctx.now)
  const rule = RULES[event]
  const timeDriven = event === 'Expire' || event === 'Complete'
  if (!rule.from.has(current) || (timeDriven && current === req.status)) return { ok: false, status: current }
  /* c8 ignore next -- only Expired/Completed differ from the stored status, and no other event is allowed from them; guards a future rule */
  if (!timeDriven && current !== req.status) return { ok: false, status: current }
  const step = rule.apply(req, ctx)
  const actor: HistoryActor = timeDriven ? SYSTEM_ACTOR : ctx.actor
  const next: LockboxRequest = {
    ...req,
    ...step.patch,
    status: step.status,
    history: [...req.history, historyEntry(step, actor, timeDriven ? null : (ctx.comment ?? null), timeDriven ? null : (ctx.onBehalfOf ?? null))]
  }
  return { ok: true, request: next, operation: step.operation, from: req.status }
}

function historyEntry (step: Step, actor: HistoryActor, comment: string | null, onBehalfOf: string | null): HistoryEntry {
  const entry: HistoryEntry = { at: iso(step.at), action: step.action, actor, comment }
  if (onBehalfOf !== null) entry.onBehalfOf = onBehalfOf
  return entry
}

export const SYSTEM_ACTOR: HistoryActor = Object.freeze({ id: 'system', role: 'System' })

export type NewRequestInput = Pick<LockboxRequest,
  'id' | 'tenantId' | 'serviceRequestNumber' | 'workload' | 'scope' | 'accessLevel' | 'duration' | 'durationMs' | 'justification' | 'requester'>

/** A new request awaits the support manager; the manager stage has the same decision window as the customer's. */
export function createRequest (input: NewRequestInput, ctx: { now: number, pendingTtlMs: number }): LockboxRequest {
  return {
    ...input,
    status: 'AwaitingManagerApproval',
    createdAt: iso(ctx.now),
    decisionDeadline: iso(ctx.now + ctx.pendingTtlMs),
    accessStartsAt: null,
    accessEndsAt: null,
    history: [{ at: iso(ctx.now), action: 'Created', actor: { id: input.requester.id, role: 'SupportEngineer' }, comment: null }],
    version: 0
  }
}

/**
 * The request as a client sees it at `now`: the effective status, and the time-driven transition the
 * sweeper has not yet written shown in the history already, so status and history never disagree.
 */
export function viewRequest (req: LockboxRequest, now: number): PublicLockboxRequest {
  const status = effectiveStatus(req, now)
  let history = req.history
  if (status !== req.status) {
    const event: LockboxEvent = status === 'Expired' ? 'Expire' : 'Complete'
    const result = transition(req, event, { now, actor: SYSTEM_ACTOR, pendingTtlMs: 0 })
    /* c8 ignore next -- effectiveStatus differing from the stored status makes the time-driven transition valid */
    if (result.ok) history = result.request.history
  }
  const { version: _version, durationMs: _durationMs, requesterEmail: _email, reminderSentAt: _reminded, approvals, approvalsRequired, granted, extension: _extension, ...rest } = req
  return {
    ...rest,
    status,
    history,
    approvals: (approvals ?? []).map((a) => ({ by: a.by, at: a.at, comment: a.comment, onBehalfOf: a.onBehalfOf, granted: publicGrant(a.access) })),
    approvalsRequired: approvalsRequired ?? null,
    granted: granted === undefined || granted === null ? null : publicGrant(granted),
    extension: viewExtension(req, now)
  }
}

/** An approval as clients see it. */
export interface PublicApproval {
  by: string
  at: string
  comment: string | null
  onBehalfOf: string | null
  granted: ReturnType<typeof publicGrant>
}

export type PublicLockboxRequest = Omit<LockboxRequest, 'version' | 'durationMs' | 'requesterEmail' | 'reminderSentAt' | 'approvals' | 'approvalsRequired' | 'granted' | 'extension'> & {
  approvals: PublicApproval[]
  approvalsRequired: number | null
  granted: ReturnType<typeof publicGrant> | null
  extension: PublicExtension | null
}

/** The time at which this request changes status by itself, if it is waiting on the clock. */
export function nextTimedChange (req: LockboxRequest): number | null {
  if (AWAITING.has(req.status) && req.decisionDeadline !== null) return Date.parse(req.decisionDeadline)
  if (req.status === 'Approved' && req.accessEndsAt !== null) return Date.parse(req.accessEndsAt)
  return null
}

export function iso (ms: number): string {
  return new Date(ms).toISOString()
}
