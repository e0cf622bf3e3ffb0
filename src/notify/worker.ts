// Delivers the outbox: claims due messages (a lease, so one replica sends each), sends them, and
// settles each one — sent (with its ApproversNotified record), retried with exponential backoff, or
// dead-lettered after a bounded number of attempts.
import type { AuditDraft } from '../domain/audit.js'
import type { OutboxMessage, OutboxOutcome } from './types.js'
import type { Log } from '../log.js'

export interface OutboxPort {
  /** Up to `limit` pending messages due at `now`, leased to this worker for `leaseMs`. */
  claim: (now: number, leaseMs: number, limit: number) => Promise<OutboxMessage[]>
  /** Records the outcome; `audit` is committed in the same step as a `sent`. */
  settle: (message: OutboxMessage, outcome: OutboxOutcome, audit: AuditDraft[]) => Promise<void>
}

export interface NotifierOptions {
  outbox: OutboxPort
  senders: Partial<Record<OutboxMessage['channel'], (message: OutboxMessage) => Promise<void>>>
  now: () => number
  log: Log
  /** Called after each attempt, for metrics. */
  onAttempt?: (message: OutboxMessage, result: 'sent' | 'retry' | 'dead') => void
  maxAttempts?: number
  baseDelayMs?: number
  maxDelayMs?: number
  leaseMs?: number
  batch?: number
}

export const DEFAULT_MAX_ATTEMPTS = 10

/** Exponential backoff with full jitter on the upper half: 5 s, 10 s, 20 s … capped at 15 min. */
export function backoffMs (attempt: number, base = 5000, max = 15 * 60_000, random = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + random() * ceiling / 2)
}

function approversNotified (message: OutboxMessage): AuditDraft[] {
  if (message.kind === 'RequestDecided') return []
  return [{
    tenantId: message.tenantId,
    operation: 'ApproversNotified',
    result: 'Success',
    actor: { id: 'system', type: 'System' },
    clientIp: null,
    requestId: message.requestId,
    workload: null,
    object: message.requestId,
    details: {
      channel: message.channel,
      recipients: message.email === null ? 1 : message.email.to.length,
      kind: message.kind,
      notificationId: message.id,
      attempts: message.attempts + 1
    }
  }]
}

export class Notifier {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private readonly maxAttempts: number

  constructor (private readonly options: NotifierOptions) {
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  }

  start (intervalMs = 1000): void {
    this.timer = setInterval(() => { this.kick() }, intervalMs)
    this.timer.unref()
    this.kick()
  }

  /** Runs a pass soon (new messages were just committed, say); does nothing until started. */
  kick (): void {
    // A pass never rejects: every failure inside it is logged and retried later.
    // eslint-disable-next-line no-void
    if (this.timer !== null) void this.deliverDue()
  }

  async stop (): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    await this.running
  }

  /** One pass over every due message; a pass already under way is joined, never doubled. */
  async deliverDue (): Promise<void> {
    this.running ??= this.pass().finally(() => { this.running = null })
    await this.running
  }

  private async pass (): Promise<void> {
    const { outbox, now, log } = this.options
    let messages: OutboxMessage[]
    try {
      messages = await outbox.claim(now(), this.options.leaseMs ?? 60_000, this.options.batch ?? 50)
    } catch (err) {
      log.warn({ err }, 'notification outbox unavailable; will retry')
      return
    }
    for (const message of messages) await this.attempt(message)
  }

  private async attempt (message: OutboxMessage): Promise<void> {
    const { senders, now, log, onAttempt } = this.options
    const send = senders[message.channel]
    let outcome: OutboxOutcome
    let audit: AuditDraft[] = []
    try {
      if (send === undefined) throw new Error(`no ${message.channel} channel configured`)
      await send(message)
      outcome = { status: 'sent' }
      audit = approversNotified(message)
      log.info({ notificationId: message.id, channel: message.channel, event: message.event, requestId: message.requestId }, 'notification delivered')
    } catch (err) {
      const attempts = message.attempts + 1
      const error = (err as Error).message
      outcome = attempts >= this.maxAttempts
        ? { status: 'dead', error }
        : { status: 'retry', nextAttemptAt: now() + backoffMs(attempts, this.options.baseDelayMs, this.options.maxDelayMs), error }
      const fields = { notificationId: message.id, channel: message.channel, event: message.event, attempts, error }
      if (outcome.status === 'dead') log.error(fields, 'notification dead-lettered after its last attempt')
      else log.warn(fields, 'notification delivery failed; will retry')
    }
    onAttempt?.(message, outcome.status)
    try {
      await this.options.outbox.settle(message, outcome, audit)
    } catch (err) {
      // The lease runs out and the message is attempted again: at least once, never lost.
      log.error({ err, notificationId: message.id }, 'could not record a notification outcome')
    }
  }
}
