// Delivers the notification outbox: e-mail (SMTP, or .eml files in <data dir>/outbox when no SMTP
// server is configured) and signed webhooks, on a worker that claims each message with a lease so
// that, with several replicas, one of them sends it.
import { join } from 'node:path'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/schema.js'
import { commitUnlessConflict } from '../../src/workflow/context.js'
import { fileMailer, smtpMailer, type Mailer } from '../../src/notify/email.js'
import type { OutboxMessage } from '../../src/notify/types.js'
import { webhookSender } from '../../src/notify/webhook.js'
import { Notifier, type OutboxPort } from '../../src/notify/worker.js'
import type { LockboxStore } from '../../src/stores/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    notifier: Notifier
    /** Where e-mail goes, for the start-up banner. */
    mailDestination: string
  }
}

export interface NotificationsOptions {
  config: Config
  /** Run the delivery worker in the background (tests drive `app.notifier.deliverDue()` themselves). */
  start: boolean
}

/** Claims and outcomes are compare-and-set puts: of two replicas claiming one message, one wins. */
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

async function notifications (app: FastifyInstance, { config, start }: NotificationsOptions): Promise<void> {
  const mailer: Mailer = config.smtpUrl !== null
    ? smtpMailer(config.smtpUrl, config.mailFrom)
    : fileMailer(join(config.dataDir, 'outbox'), config.mailFrom)
  const webhook = config.webhookUrl !== null ? webhookSender(config.webhookUrl, config.webhookSecret as string) : null
  const notifier = new Notifier({
    outbox: storeOutbox(app.stores.lockbox),
    senders: { email: mailer.send, ...(webhook === null ? {} : { webhook: webhook.send }) },
    now: app.now,
    log: app.log,
    onAttempt: (message, result) => { app.metrics?.notifications.inc({ channel: message.channel, result }) }
  })
  app.decorate('notifier', notifier)
  app.decorate('mailDestination', mailer.describe)
  app.workflow.notificationsQueued = () => { notifier.kick() }
  if (start) app.addHook('onReady', async () => { notifier.start() })
  app.addHook('preClose', async () => { await notifier.stop() })
  app.addHook('onClose', async () => { mailer.close() })
}

export default fp(notifications, { name: 'notifications', dependencies: ['stores', 'workflow'] })
