// Notification outbox messages: rendered when the transition that causes them is committed (in the
// same atomic step), delivered afterwards with retries, so an SMTP outage delays a notice but never
// loses one.

export type Channel = 'email' | 'webhook'

/** Why a notice exists: approvers must decide, approvers are reminded, or the engineer hears the outcome. */
export type NoticeKind = 'ApprovalRequested' | 'ApprovalReminder' | 'RequestDecided' | 'DelegateDecided'

export interface RenderedEmail { to: string[], subject: string, text: string, html: string }

export interface OutboxMessage {
  id: string
  tenantId: string
  requestId: string | null
  channel: Channel
  kind: NoticeKind
  /** The event it tells of, e.g. `lockbox.request.approved`. */
  event: string
  email: RenderedEmail | null
  /** The webhook body, as JSON text; the signature is made at send time. */
  webhook: string | null
  createdAt: string
  status: 'pending' | 'sent' | 'dead'
  attempts: number
  /** Epoch ms of the next delivery attempt. */
  nextAttemptAt: number
  lastError: string | null
  /** Epoch ms until which a worker holds it (claimed); 0 when nobody does. */
  leaseUntil: number
  /** Compare-and-set version, as for every stored entity: claims and outcomes race safely. */
  version: number
}

export type OutboxOutcome =
  | { status: 'sent' }
  | { status: 'retry', nextAttemptAt: number, error: string }
  | { status: 'dead', error: string }
