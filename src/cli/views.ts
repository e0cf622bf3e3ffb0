// How the CLI shows the gateway's objects to a person: tables, detail blocks and the next step.
import type { AuditRecord, LockboxRequest, ServiceRequest } from './api.js'
import { expiry, fields, relative, table } from './format.js'
import type { Output } from './output.js'

const AWAITING: ReadonlySet<string> = new Set(['AwaitingManagerApproval', 'AwaitingCustomerApproval'])

/** The one time that matters about a request now: its deadline, its access window, or its age. */
export function requestTiming (req: LockboxRequest, now: number): string {
  if (AWAITING.has(req.status) && req.decisionDeadline !== null) return `decision due ${relative(req.decisionDeadline, now)}`
  if (req.status === 'Approved' && req.accessEndsAt !== null) return expiry(req.accessEndsAt, now)
  if (req.accessEndsAt !== null) return `access ended ${relative(req.accessEndsAt, now)}`
  return `created ${relative(req.createdAt, now)}`
}

/** What happens next, and the command for it. */
export function nextStep (req: LockboxRequest): string | null {
  switch (req.status) {
    case 'AwaitingManagerApproval': return `next: a support manager reviews it: lockbox review approve ${req.id}`
    case 'AwaitingCustomerApproval': {
      // No quorum on a request stored before quorums existed: one approval was needed.
      const left = (req.approvalsRequired ?? 1) - req.approvals.length
      const who = left > 1 ? `${left} more of ${req.tenantId}'s lockbox approvers decide` : `${req.tenantId}'s lockbox approver decides`
      return `next: ${who}: lockbox decide approve ${req.id}`
    }
    case 'Approved':
      if (req.extension?.status === 'AwaitingManagerApproval') return `next: a support manager reviews the extension: lockbox review approve ${req.id}`
      if (req.extension?.status === 'AwaitingCustomerApproval') return `next: ${req.tenantId}'s lockbox approvers decide the extension: lockbox decide approve ${req.id}`
      return `next: the requester gets an access token: lockbox token ${req.id}`
    default: return null
  }
}

export function showRequests (out: Output, items: LockboxRequest[], now: number): void {
  if (items.length === 0) {
    out.line('No lockbox requests.')
    return
  }
  out.lines(table(
    ['ID', 'TENANT', 'SR', 'WORKLOAD', 'SCOPE', 'ACCESS', 'STATUS', 'WHEN'],
    items.map((r) => [r.id, r.tenantId, r.serviceRequestNumber, r.workload, r.scope, r.accessLevel, out.status(r.status), requestTiming(r, now)])
  ))
}

export function showRequest (out: Output, req: LockboxRequest, now: number): void {
  out.lines(fields([
    ['request', out.paint('bold', req.id)],
    ['status', `${out.status(req.status)} (${requestTiming(req, now)})`],
    ['tenant', `${req.tenantId}, service request ${req.serviceRequestNumber}`],
    ['access', `${req.accessLevel} on ${req.workload} ${req.scope} for ${req.duration}`],
    ['requester', `${req.requester.name} (${req.requester.id})`],
    ['reason', req.justification],
    ['created', `${req.createdAt} (${relative(req.createdAt, now)})`],
    ...(req.accessStartsAt === null ? [] : [['window', `${req.accessStartsAt} → ${req.accessEndsAt as string}`] as [string, string]]),
    ...policyFields(req)
  ]))
  out.line()
  out.lines(table(['WHEN', 'ACTION', 'BY', 'ROLE', 'COMMENT'], req.history.map((h) => [relative(h.at, now), h.action, h.actor.id, h.actor.role, h.comment ?? ''])))
  const next = nextStep(req)
  if (next !== null) out.note(next)
}

/** Quorum progress, requested vs granted access, and a pending or settled extension, when there are any. */
function policyFields (req: LockboxRequest): Array<[string, string]> {
  const rows: Array<[string, string]> = []
  const required = req.approvalsRequired
  const approvals = req.approvals
  if (required !== null && (required > 1 || approvals.length > 0)) {
    const who = approvals.map((a) => a.onBehalfOf === null ? a.by : `${a.by} for ${a.onBehalfOf}`).join(', ')
    rows.push(['approvals', `${approvals.length} of ${required}${who === '' ? '' : ` (${who})`}`])
  }
  const granted = req.granted
  if (granted !== null && (granted.scope !== req.scope || granted.accessLevel !== req.accessLevel || granted.duration !== req.duration)) {
    rows.push(['granted', `${granted.accessLevel} on ${req.workload} ${granted.scope} for ${granted.duration} (narrowed by the approvers)`])
  }
  const ext = req.extension
  if (ext !== null) {
    const progress = ext.approvalsRequired === null ? '' : `, ${ext.approvals.length} of ${ext.approvalsRequired} approvals`
    rows.push(['extension', `${ext.duration} more: ${ext.status}${progress}${ext.grantedDuration === null ? '' : `, granted ${ext.grantedDuration}`}`])
  }
  return rows
}

export function showServiceRequests (out: Output, items: ServiceRequest[], now: number): void {
  if (items.length === 0) {
    out.line('No service requests.')
    return
  }
  out.lines(table(
    ['NUMBER', 'TENANT', 'STATUS', 'OPENED', 'BY', 'TITLE'],
    items.map((s) => [s.number, s.tenantId, out.status(s.status), relative(s.createdAt, now), s.createdBy.id, s.title])
  ))
}

/** One line per audit record, the same in `search` and `tail`. */
export function auditRows (out: Output, records: AuditRecord[]): string[][] {
  return records.map((r) => [
    String(r.seq), r.tenantId, r.time, r.operation, out.status(r.result), r.actor.id, r.requestId ?? '', r.object ?? ''
  ])
}

export const AUDIT_HEADER = ['SEQ', 'TENANT', 'TIME', 'OPERATION', 'RESULT', 'ACTOR', 'REQUEST', 'OBJECT']

export function showMore (out: Output, nextCursor: string | null): void {
  if (nextCursor !== null) out.note(`more: add --cursor ${nextCursor}`)
}
