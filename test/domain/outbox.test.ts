import t from 'tap'
import { dueAt, isDue } from '../../src/domain/outbox.js'

t.test('a pending message falls due at its next attempt, not while a worker holds its lease', async (t) => {
  const message = { status: 'pending', nextAttemptAt: 1000, leaseUntil: 0 }
  t.equal(dueAt(message), 1000)
  t.equal(isDue(message, 999), false, 'before its next attempt')
  t.equal(isDue(message, 1000), true, 'at its next attempt')
  const leased = { ...message, leaseUntil: 5000 }
  t.equal(dueAt(leased), 5000)
  t.equal(isDue(leased, 4999), false, 'while leased')
  t.equal(isDue(leased, 5000), true, 'once the lease ran out')
})

t.test('a message that is not pending is never due', async (t) => {
  for (const status of ['sent', 'failed']) t.equal(isDue({ status, nextAttemptAt: 0, leaseUntil: 0 }, 1000), false, status)
})
