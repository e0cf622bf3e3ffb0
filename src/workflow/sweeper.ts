// Writes down what the clock already decided: awaiting requests past their deadline become Expired,
// approved ones past their window Completed. Correctness never depends on it (status is computed
// from timestamps); it exists so that those transitions get their history entry and audit record,
// the engineer hears of an expiry, and approvers are reminded before a request expires unanswered.
// With several replicas the compare-and-set makes sure one of them writes each record.
import { effectiveStatus, iso, transition, SYSTEM_ACTOR, type LockboxRequest, type TransitionResult } from '../domain/lockbox.js'
import { extensionDeadline, type ExtensionResult } from '../domain/extension.js'
import { grantEventsOf } from '../domain/grant-event.js'
import { extensionNotices, noticesFor, reminderDue, reminderNotices } from '../notify/messages.js'
import { expireExtension, extensionDetails } from './extensions.js'
import type { Change } from '../stores/types.js'
import { commitUnlessConflict, draft, type WorkflowContext } from './context.js'
import { requestDetails, tenantOf } from './requests.js'
import type { Log } from '../log.js'

/** The change that writes down a time-driven transition, or a due reminder; null when none is due. */
async function dueChange (ctx: WorkflowContext, req: LockboxRequest, now: number): Promise<Required<Pick<Change, 'notifications'>> & Change | null> {
  const status = effectiveStatus(req, now)
  const extensionEnds = extensionDeadline(req)
  // First, even when the window has ended since: a sweep that comes late still owes the extension's record.
  if (req.status === 'Approved' && extensionEnds !== null && now >= extensionEnds) return await extensionExpiry(ctx, req, now)
  if (status === req.status) {
    if (!reminderDue(req, ctx.pendingTtlMs, now)) return null
    const tenant = await tenantOf(ctx, req)
    return {
      tenantId: req.tenantId,
      requests: [{ value: { ...req, reminderSentAt: iso(now) }, expectedVersion: req.version }],
      notifications: reminderNotices(req, { ...ctx.notices, tenant, now }).map((value) => ({ value, expectedVersion: 0 })),
      audit: []
    }
  }
  // effectiveStatus differing from the stored status is exactly what makes this transition valid.
  const result = transition(req, status === 'Expired' ? 'Expire' : 'Complete', { now, actor: SYSTEM_ACTOR, pendingTtlMs: ctx.pendingTtlMs }) as Extract<TransitionResult, { ok: true }>
  const tenant = await tenantOf(ctx, req)
  return {
    tenantId: req.tenantId,
    requests: [{ value: result.request, expectedVersion: req.version }],
    notifications: noticesFor(result.request, result.from, req.requesterEmail, { ...ctx.notices, tenant, now }).map((value) => ({ value, expectedVersion: 0 })),
    audit: [draft(result.operation, req.tenantId, null, 'System', {
      requestId: req.id,
      workload: req.workload,
      object: req.scope,
      details: requestDetails(result.request, { from: result.from, status: result.request.status, reason: status === 'Expired' ? 'DecisionDeadlinePassed' : 'AccessWindowEnded' })
    })],
    grantEvents: grantEventsOf(result.from, result.request)
  }
}

/** An extension nobody decided in time: written down, the requester told; the window is untouched. */
async function extensionExpiry (ctx: WorkflowContext, req: LockboxRequest, now: number): Promise<Required<Pick<Change, 'notifications'>> & Change> {
  // extensionDeadline having passed while the request is still Approved is what makes it valid.
  const result = expireExtension(req, now, ctx) as Extract<ExtensionResult, { ok: true }>
  const tenant = await tenantOf(ctx, req)
  return {
    tenantId: req.tenantId,
    requests: [{ value: result.request, expectedVersion: req.version }],
    notifications: extensionNotices(result.request, req.requesterEmail, { ...ctx.notices, tenant, now }).map((value) => ({ value, expectedVersion: 0 })),
    audit: [draft(result.operation, req.tenantId, null, 'System', {
      requestId: req.id,
      workload: req.workload,
      object: req.scope,
      details: requestDetails(result.request, { from: 'Approved', status: 'Approved', reason: 'DecisionDeadlinePassed', extension: extensionDetails(result.request) })
    })]
  }
}

/** One pass; resolves with the number of changes written. */
export async function sweepOnce (ctx: WorkflowContext): Promise<number> {
  let written = 0
  let queued = false
  const now = ctx.now()
  for (const listed of await ctx.stores.lockbox.listUnsettledRequests()) {
    // One request may owe two records in a pass: its extension's expiry, then its window's end.
    let req: LockboxRequest | null = listed
    while (req !== null) {
      const change = await dueChange(ctx, req, now)
      if (change === null) break
      // Another replica (or a user action) may get there first: its record stands, ours is not needed.
      if (!await commitUnlessConflict(ctx.stores.lockbox, change)) break
      written++
      queued ||= change.notifications.length > 0
      req = await ctx.stores.lockbox.getRequest(req.id)
    }
  }
  if (queued) ctx.notificationsQueued()
  return written
}

/** Sweeps every `intervalMs` until stopped; a failing pass is logged and the next one tries again. */
export function startSweeper (ctx: WorkflowContext, intervalMs: number, log: Log): { stop: () => Promise<void> } {
  let running: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    running = sweepOnce(ctx).catch((err: unknown) => { log.error({ err }, 'expiry sweep failed') })
  }, intervalMs)
  timer.unref()
  return {
    async stop () {
      clearInterval(timer)
      await running
    }
  }
}
