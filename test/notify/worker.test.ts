import t from 'tap'
import { backoffMs, Notifier } from '../../src/notify/worker.js'
import { storeOutbox } from '../../src/notify/outbox.js'
import { startTestApp } from '../helpers/app.js'
import { createRequest, review } from '../helpers/workflow.js'
import { quietLog, type Log } from '../../src/log.js'

t.test('backs off exponentially with jitter, up to a ceiling', async (t) => {
  t.equal(backoffMs(1, 5000, 900_000, () => 0), 2500)
  t.equal(backoffMs(1, 5000, 900_000, () => 1), 5000)
  t.equal(backoffMs(3, 5000, 900_000, () => 1), 20_000)
  t.equal(backoffMs(20, 5000, 900_000, () => 1), 900_000)
  const defaults = backoffMs(2)
  t.ok(defaults >= 5000 && defaults <= 10_000)
})

function logs (): { log: Log, lines: string[] } {
  const lines: string[] = []
  return { lines, log: { ...quietLog, warn: (_o, m) => { lines.push(`warn ${m}`) }, error: (_o, m) => { lines.push(`error ${m}`) } } }
}

t.test('gives a message to one of two racing workers only', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h)
  await review(h, req.id)
  const outbox = storeOutbox(h.app.stores.lockbox)
  const [a, b] = await Promise.all([outbox.claim(h.now(), 60_000, 10), outbox.claim(h.now(), 60_000, 10)])
  t.equal(a.length + b.length, 1)
  t.same(await outbox.claim(h.now(), 60_000, 10), [], 'a leased message is nobody else\'s until its lease runs out')
  h.advance(60_000)
  t.equal((await outbox.claim(h.now(), 60_000, 10)).length, 1, 'an abandoned lease runs out')
})

t.test('waits out an unavailable outbox, and never loses a message whose outcome it could not record', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h)
  await review(h, req.id)
  const { log, lines } = logs()
  const sent: string[] = []
  const notifier = new Notifier({
    outbox: storeOutbox(h.app.stores.lockbox),
    senders: { email: async (message) => { sent.push(message.id); await h.app.stores.close() } },
    now: h.now,
    log
  })
  await notifier.deliverDue()
  t.equal(sent.length, 1)
  t.same(lines, ['error could not record a notification outcome'])
  await notifier.deliverDue()
  t.same(lines.at(-1), 'warn notification outbox unavailable; will retry')
})

t.test('dead-letters a message for a channel that is not configured', async (t) => {
  const h = await startTestApp({ config: { webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: 's' } })
  t.teardown(h.close)
  const req = await createRequest(h)
  await review(h, req.id)
  const { log, lines } = logs()
  const notifier = new Notifier({ outbox: storeOutbox(h.app.stores.lockbox), senders: {}, now: h.now, log, maxAttempts: 1 })
  await notifier.deliverDue()
  t.same(lines, ['error notification dead-lettered after its last attempt', 'error notification dead-lettered after its last attempt'])
  const dead = await h.app.stores.lockbox.listNotifications({ status: 'dead', limit: 10 })
  t.same(dead.map((n) => n.lastError).sort(), ['no email channel configured', 'no webhook channel configured'])
})
