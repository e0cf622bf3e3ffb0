// The outbox's due rule, one for every store: a pending message falls due at its next attempt, and
// not while a worker holds its lease.

export interface Schedulable { status: string, nextAttemptAt: number, leaseUntil: number }

/** When a pending message falls due (epoch ms). */
export function dueAt (message: Schedulable): number {
  return Math.max(message.nextAttemptAt, message.leaseUntil)
}

/** Whether `message` is to be sent at `now`. */
export function isDue (message: Schedulable, now: number): boolean {
  return message.status === 'pending' && dueAt(message) <= now
}
