// The outbox as the delivery worker sees it, on a lockbox store: claims and outcomes are
// compare-and-set puts, so of two replicas claiming one message, one wins and sends it.
import type { LockboxStore } from '../stores/types.js'
import { commitUnlessConflict } from '../workflow/context.js'
import type { OutboxMessage } from './types.js'
import type { OutboxPort } from './worker.js'

export function storeOutbox (store: LockboxStore): OutboxPort {
  return {
    async claim (now, leaseMs, limit) {
      const claimed: OutboxMessage[] = []
      for (const message of await store.listDueNotifications(now, limit)) {
        const leased = { ...message, leaseUntil: now + leaseMs }
        const change = { tenantId: message.tenantId, notifications: [{ value: leased, expectedVersion: message.version }], audit: [] }
        if (await commitUnlessConflict(store, change)) claimed.push({ ...leased, version: message.version + 1 })
      }
      return claimed
    },
    async settle (message, outcome, audit) {
      const settled: OutboxMessage = {
        ...message,
        status: outcome.status === 'retry' ? 'pending' : outcome.status,
        attempts: message.attempts + 1,
        nextAttemptAt: outcome.status === 'retry' ? outcome.nextAttemptAt : message.nextAttemptAt,
        lastError: outcome.status === 'sent' ? null : outcome.error,
        leaseUntil: 0
      }
      await store.commit({ tenantId: message.tenantId, notifications: [{ value: settled, expectedVersion: message.version }], audit })
    }
  }
}
