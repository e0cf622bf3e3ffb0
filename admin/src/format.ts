// How times, statuses and audit records read on the page.
import type { AuditRecord, LockboxRequest } from './types.js'
import { h } from './dom.js'

const LABELS: Record<string, string> = {
  AwaitingManagerApproval: 'Awaiting manager approval',
  AwaitingCustomerApproval: 'Awaiting customer approval',
  Approved: 'Approved',
  Denied: 'Denied',
  RejectedByManager: 'Rejected by manager',
  Expired: 'Expired',
  Revoked: 'Revoked',
  Canceled: 'Canceled',
  Completed: 'Completed'
}

const TONES: Record<string, string> = {
  AwaitingManagerApproval: 'pending',
  AwaitingCustomerApproval: 'pending',
  Approved: 'active',
  Denied: 'refused',
  RejectedByManager: 'refused',
  Revoked: 'refused'
}

export function statusLabel (status: string): string {
  return LABELS[status] ?? status
}

export function statusBadge (status: string): HTMLSpanElement {
  return h('span', { class: `badge badge-${TONES[status] ?? 'closed'}` }, statusLabel(status))
}

export function isAwaiting (status: string): boolean {
  return status === 'AwaitingManagerApproval' || status === 'AwaitingCustomerApproval'
}

export function formatTime (iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

/** For dense tables: "24 Nov, 06:38:05". */
export function formatShortTime (iso: string): string {
  return new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

export function timeElement (iso: string | null): HTMLElement | string {
  return iso === null ? '—' : h('time', { datetime: iso }, formatTime(iso))
}

/** "PT2H30M" as "2 h 30 min"; anything else as it came. */
export function readableDuration (iso: string): string {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(iso)
  if (match === null) return iso
  const [, hours, minutes, seconds] = match
  const parts = [hours === undefined ? '' : `${hours} h`, minutes === undefined ? '' : `${minutes} min`, seconds === undefined ? '' : `${seconds} s`]
  return parts.filter((part) => part !== '').join(' ') || iso
}

/** "3 h 20 min", "12 min", "less than a minute"; null once the moment has passed. */
export function durationUntil (iso: string, now = Date.now()): string | null {
  const ms = Date.parse(iso) - now
  if (ms <= 0) return null
  const hours = Math.floor(ms / 3_600_000)
  const minutes = Math.floor((ms % 3_600_000) / 60_000)
  if (hours === 0 && minutes === 0) return 'less than a minute'
  return hours === 0 ? `${minutes} min` : `${hours} h ${minutes} min`
}

/** The clock that matters for a request now: time left to decide, or left on its access ('' for neither). */
export function timeLeft (req: LockboxRequest, now = Date.now()): string {
  if (isAwaiting(req.status) && req.decisionDeadline !== null) {
    const left = durationUntil(req.decisionDeadline, now)
    return left === null ? 'deadline passed' : `${left} left to decide`
  }
  if (req.status === 'Approved' && req.accessEndsAt !== null) {
    const left = durationUntil(req.accessEndsAt, now)
    return left === null ? 'access window over' : `access ends in ${left}`
  }
  return ''
}

function text (value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : ''
}

/** One line saying what an audit record is about: the call an engineer made, or a decision's comment. */
export function recordSummary (record: AuditRecord): string {
  const d = record.details ?? {}
  switch (record.operation) {
    case 'ContentAccessed': {
      const query = text(d.query)
      return `${text(d.method)} ${text(d.path)}${query === '' ? '' : `?${query}`}`
    }
    case 'ContentAccessCompleted': {
      // No status: the exchange ended before anything answered (client gone, grant ended, upstream silent).
      const parts = [d.status === null ? 'no answer' : `status ${text(d.status)}`, `${text(d.bytes)} bytes`, `${text(d.durationMs)} ms`]
      if (text(d.cutBy) !== '') parts.push(`cut by ${text(d.cutBy)}`)
      return parts.join(' · ')
    }
    case 'ContentAccessDenied':
      return `${text(d.method)} ${text(d.path)} refused (${text(d.status)} ${text(d.reason)})`
    case 'LockboxAccessTokenIssued':
      return `${text(d.accessLevel)} token, valid until ${formatShortTime(text(d.expiresAt))}`
    default:
      return text(d.comment) || text(d.reason)
  }
}
