// What approvers and engineers are told, as e-mail (text and HTML) and as webhook JSON. Pure.
import { randomUUID } from 'node:crypto'
import { formatDuration } from '../domain/duration.js'
import type { Delegation } from '../domain/delegation.js'
import type { Extension, ExtensionStatus } from '../domain/extension.js'
import { viewRequest, type LockboxRequest, type RequestStatus } from '../domain/lockbox.js'
import type { Tenant } from '../domain/tenant.js'
import type { Channel, NoticeKind, OutboxMessage, RenderedEmail } from './types.js'

export const EVENT_TYPES: Partial<Record<RequestStatus, string>> = {
  AwaitingCustomerApproval: 'lockbox.request.awaiting_customer_approval',
  Approved: 'lockbox.request.approved',
  Denied: 'lockbox.request.denied',
  RejectedByManager: 'lockbox.request.rejected_by_manager',
  Expired: 'lockbox.request.expired',
  Revoked: 'lockbox.request.revoked'
}
export const REMINDER_EVENT = 'lockbox.request.approval_reminder'

/** Statuses the requester hears about. */
export const REQUESTER_NOTICES: ReadonlySet<RequestStatus> = new Set(['Approved', 'Denied', 'RejectedByManager', 'Expired', 'Revoked'])

export interface NoticeContext {
  tenant: Tenant
  publicUrl: string
  now: number
  /** Whether LOCKBOX_WEBHOOK_URL is set. */
  webhook: boolean
}

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

function utc (iso: string | null): string {
  return iso === null ? '—' : iso.replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')
}

/** Links open the authenticated admin page; nothing is decided by following one. */
export function requestLink (publicUrl: string, req: LockboxRequest): string {
  return `${publicUrl}/admin/#/requests/${encodeURIComponent(req.id)}`
}

function facts (req: LockboxRequest, tenant: Tenant): Array<[string, string]> {
  return [
    ['Tenant', `${tenant.displayName} (${tenant.id})`],
    ['Service request', req.serviceRequestNumber],
    ['Engineer', `${req.requester.name} (${req.requester.id})`],
    ['Workload', req.workload],
    ['Scope', req.scope],
    ['Access level', req.accessLevel],
    ['Duration', formatDuration(req.durationMs)],
    ['Justification', req.justification],
    ['Decision deadline', utc(req.decisionDeadline)],
    ['Access window', req.accessStartsAt === null ? '—' : `${utc(req.accessStartsAt)} to ${utc(req.accessEndsAt)}`]
  ]
}

function render (to: string[], subject: string, intro: string, req: LockboxRequest, tenant: Tenant, link: string, action: string): RenderedEmail {
  const rows = facts(req, tenant)
  const width = Math.max(...rows.map(([k]) => k.length))
  const text = [
    intro,
    '',
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    '',
    `${action}: ${link}`,
    '',
    '— Lockbox Gateway. Every step of this request and every action taken with its access is on the tenant\'s audit log.'
  ].join('\n')
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1b1b1b">',
    `<p>${escapeHtml(intro)}</p>`,
    '<table cellpadding="4" style="border-collapse:collapse">',
    ...rows.map(([k, v]) => `<tr><th align="left" style="padding-right:1em">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`),
    '</table>',
    `<p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p>`,
    '<p style="color:#555;font-size:90%">Lockbox Gateway. Every step of this request and every action taken with its access is on the tenant\'s audit log.</p>',
    '</body></html>'
  ].join('\n')
  return { to, subject, text, html }
}

const COUNTS = ['one', 'two', 'three', 'four', 'five']

/** "Your approval is one of two needed": said only when a quorum needs more than one approver. */
export function quorumSentence (required: number, given: number): string {
  if (required <= 1) return ''
  const needed = COUNTS[required - 1] as string
  const progress = given > 0 ? ` ${given} of ${required} approvals given so far.` : ''
  return ` It needs ${needed} different approvers: your approval is one of ${needed} needed.${progress}`
}

export function approverEmail (req: LockboxRequest, ctx: NoticeContext, reminder: boolean): RenderedEmail {
  const subject = `${reminder ? 'Reminder: ' : ''}[Lockbox] ${ctx.tenant.displayName}: access request for service request ${req.serviceRequestNumber} awaits your decision`
  const quorum = quorumSentence(req.approvalsRequired ?? 1, req.approvals?.length ?? 0)
  const intro = reminder
    ? `${req.requester.name} is still waiting for a decision on this request to access ${ctx.tenant.displayName}'s ${req.workload} content. It expires unanswered at ${utc(req.decisionDeadline)}.${quorum}`
    : `${req.requester.name}, a support engineer, asks for ${req.accessLevel} access to ${ctx.tenant.displayName}'s ${req.workload} content. Please approve or deny it before ${utc(req.decisionDeadline)}.${quorum}`
  return render([...ctx.tenant.approverEmails], subject, intro, req, ctx.tenant, requestLink(ctx.publicUrl, req), 'Review the request in the admin center')
}

export const EXTENSION_EVENTS: Partial<Record<ExtensionStatus, string>> = {
  AwaitingCustomerApproval: 'lockbox.request.extension_awaiting_customer_approval',
  Approved: 'lockbox.request.extension_approved',
  Denied: 'lockbox.request.extension_denied',
  RejectedByManager: 'lockbox.request.extension_rejected_by_manager',
  Expired: 'lockbox.request.extension_expired'
}

/** The steps of an extension someone hears of: approvers when it reaches them, the requester when it is settled. */
const EXTENSION_NOTICE_ACTIONS: ReadonlySet<string> = new Set(['ExtensionManagerApproved', 'ExtensionApproved', 'ExtensionDenied', 'ExtensionManagerRejected', 'ExtensionExpired'])

/** The notices an extension step causes (none for a request or a partial approval). */
export function extensionNotices (req: LockboxRequest, requesterAddress: string | null | undefined, ctx: NoticeContext): OutboxMessage[] {
  const out: OutboxMessage[] = []
  const ext = req.extension as Extension
  const last = req.history.at(-1) as LockboxRequest['history'][number]
  const event = EXTENSION_EVENTS[ext.status]
  if (event === undefined || !EXTENSION_NOTICE_ACTIONS.has(last.action)) return out
  const link = requestLink(ctx.publicUrl, req)
  if (ext.status === 'AwaitingCustomerApproval') {
    // Its quorum was fixed when it reached the customer (see extension.ts).
    const text = `Lockbox: ${req.requester.name} asks to extend their access to ${ctx.tenant.displayName} ${req.workload} ${req.scope} by ${ext.duration} (SR ${req.serviceRequestNumber}); the current access continues meanwhile. Decide before ${utc(ext.decisionDeadline)}: ${link}`
    if (ctx.tenant.approverEmails.length > 0) {
      const subject = `[Lockbox] ${ctx.tenant.displayName}: extension of access for service request ${req.serviceRequestNumber} awaits your decision`
      const intro = `${req.requester.name} asks for ${ext.duration} more of the access you approved, because: "${ext.justification}". The current access continues until ${utc(req.accessEndsAt)}. Please approve or deny the extension before ${utc(ext.decisionDeadline)}.${quorumSentence(ext.approvalsRequired as number, 0)}`
      out.push(message('email', 'ApprovalRequested', event, req, ctx, render([...ctx.tenant.approverEmails], subject, intro, req, ctx.tenant, link, 'Review the extension in the admin center'), text))
    }
    if (ctx.webhook) out.push(message('webhook', 'ApprovalRequested', event, req, ctx, null, text))
    return out
  }
  const text = `Lockbox: the extension of ${req.requester.name}'s access to ${ctx.tenant.displayName} ${req.workload} ${req.scope} (SR ${req.serviceRequestNumber}) is ${ext.status}; access ends ${utc(req.accessEndsAt)}. ${link}`
  if (typeof requesterAddress === 'string') {
    const subject = `[Lockbox] Your extension for ${ctx.tenant.displayName}, service request ${req.serviceRequestNumber}: ${ext.status}`
    const intro = ext.status === 'Approved'
      ? `Your extension was approved: access is now open until ${utc(req.accessEndsAt)}. Obtain a fresh access token for the longer window (lockbox token ${req.id}).`
      : `Your extension is ${ext.status}. Your access is unchanged and ends at ${utc(req.accessEndsAt)}.`
    out.push(message('email', 'RequestDecided', event, req, ctx, render([requesterAddress], subject, intro, req, ctx.tenant, link, 'Open the request'), text))
  }
  if (ctx.webhook) out.push(message('webhook', 'RequestDecided', event, req, ctx, null, text))
  return out
}

export function requesterEmail (req: LockboxRequest, to: string, ctx: NoticeContext): RenderedEmail {
  const status = req.status
  const subject = `[Lockbox] Your access request for ${ctx.tenant.displayName}, service request ${req.serviceRequestNumber}: ${status}`
  const last = req.history.at(-1)
  const why = last?.comment !== null && last?.comment !== undefined ? ` Comment: "${last.comment}".` : ''
  const intro = status === 'Approved'
    ? `Your request was approved. Access is open until ${utc(req.accessEndsAt)}; obtain your access token with POST /v1/requests/${req.id}/token (or: lockbox token ${req.id}).`
    : `Your request is ${status}.${why}`
  return render([to], subject, intro, req, ctx.tenant, requestLink(ctx.publicUrl, req), 'Open the request')
}

export function webhookBody (event: string, req: LockboxRequest, ctx: NoticeContext, deliveryId: string, text: string): string {
  return JSON.stringify({
    id: deliveryId,
    type: event,
    createdAt: new Date(ctx.now).toISOString(),
    tenant: { id: ctx.tenant.id, displayName: ctx.tenant.displayName },
    request: viewRequest(req, ctx.now),
    link: requestLink(ctx.publicUrl, req),
    // Slack and Teams incoming webhooks show `text` as is.
    text
  })
}

function message (channel: Channel, kind: NoticeKind, event: string, req: LockboxRequest, ctx: NoticeContext, email: RenderedEmail | null, text: string): OutboxMessage {
  const id = randomUUID()
  return {
    id,
    tenantId: req.tenantId,
    requestId: req.id,
    channel,
    kind,
    event,
    email,
    webhook: channel === 'webhook' ? webhookBody(event, req, ctx, id, text) : null,
    createdAt: new Date(ctx.now).toISOString(),
    status: 'pending',
    attempts: 0,
    nextAttemptAt: ctx.now,
    lastError: null,
    leaseUntil: 0,
    version: 0
  }
}

/**
 * The notices a transition causes: approvers when a request reaches them, the requester when it is
 * decided (or expires, or is revoked); each on e-mail and, when configured, the webhook.
 */
export function noticesFor (req: LockboxRequest, from: RequestStatus, requesterAddress: string | null | undefined, ctx: NoticeContext): OutboxMessage[] {
  const out: OutboxMessage[] = []
  const event = EVENT_TYPES[req.status]
  if (event === undefined) return out
  if (req.status === 'AwaitingCustomerApproval' && from === 'AwaitingManagerApproval') {
    const text = `Lockbox: ${req.requester.name} asks for ${req.accessLevel} access to ${ctx.tenant.displayName} ${req.workload} ${req.scope} for ${formatDuration(req.durationMs)} (SR ${req.serviceRequestNumber}). Decide before ${utc(req.decisionDeadline)}: ${requestLink(ctx.publicUrl, req)}`
    if (ctx.tenant.approverEmails.length > 0) out.push(message('email', 'ApprovalRequested', event, req, ctx, approverEmail(req, ctx, false), text))
    if (ctx.webhook) out.push(message('webhook', 'ApprovalRequested', event, req, ctx, null, text))
  } else if (REQUESTER_NOTICES.has(req.status)) {
    const text = `Lockbox: ${req.requester.name}'s request for ${ctx.tenant.displayName} ${req.workload} ${req.scope} (SR ${req.serviceRequestNumber}) is ${req.status}. ${requestLink(ctx.publicUrl, req)}`
    if (typeof requesterAddress === 'string') out.push(message('email', 'RequestDecided', event, req, ctx, requesterEmail(req, requesterAddress, ctx), text))
    if (ctx.webhook) out.push(message('webhook', 'RequestDecided', event, req, ctx, null, text))
  }
  return out
}

export function reminderNotices (req: LockboxRequest, ctx: NoticeContext): OutboxMessage[] {
  const out: OutboxMessage[] = []
  const text = `Lockbox reminder: ${req.requester.name}'s request for ${ctx.tenant.displayName} ${req.workload} ${req.scope} (SR ${req.serviceRequestNumber}) still awaits a decision; it expires at ${utc(req.decisionDeadline)}. ${requestLink(ctx.publicUrl, req)}`
  if (ctx.tenant.approverEmails.length > 0) out.push(message('email', 'ApprovalReminder', REMINDER_EVENT, req, ctx, approverEmail(req, ctx, true), text))
  if (ctx.webhook) out.push(message('webhook', 'ApprovalReminder', REMINDER_EVENT, req, ctx, null, text))
  return out
}

/** A reminder is due once 75 % of the customer's decision window has passed without a decision. */
export function reminderDue (req: LockboxRequest, pendingTtlMs: number, now: number): boolean {
  if (req.status !== 'AwaitingCustomerApproval' || req.decisionDeadline === null || (req.reminderSentAt ?? null) !== null) return false
  const deadline = Date.parse(req.decisionDeadline)
  return now >= deadline - pendingTtlMs * 0.25 && now < deadline
}

export const DELEGATE_EVENT = 'lockbox.request.decided_by_delegate'

/** The delegator hears of every decision taken for them (when their address is known). */
export function delegateNotices (req: LockboxRequest, delegation: Delegation, ctx: NoticeContext): OutboxMessage[] {
  const out: OutboxMessage[] = []
  const last = req.history.at(-1) as LockboxRequest['history'][number]
  const what = `${last.actor.id} took a decision for you (${last.action}) on ${req.requester.name}'s request for ${ctx.tenant.displayName} ${req.workload} ${req.scope} (SR ${req.serviceRequestNumber}), as your delegate until ${utc(delegation.until)}.`
  if (delegation.fromEmail !== null) {
    const subject = `[Lockbox] ${ctx.tenant.displayName}: your delegate decided on service request ${req.serviceRequestNumber}`
    out.push(message('email', 'DelegateDecided', DELEGATE_EVENT, req, ctx, render([delegation.fromEmail], subject, what, req, ctx.tenant, requestLink(ctx.publicUrl, req), 'Open the request'), `Lockbox: ${what}`))
  }
  if (ctx.webhook) out.push(message('webhook', 'DelegateDecided', DELEGATE_EVENT, req, ctx, null, `Lockbox: ${what}`))
  return out
}
