// Delivers the notification outbox: e-mail (SMTP, or .eml files in <data dir>/outbox when no SMTP
// server is configured) and signed webhooks, on a worker that claims each message with a lease so
// that, with several replicas, one of them sends it.
import { join } from 'node:path'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/schema.js'
import { fileMailer, smtpMailer, type Mailer } from '../../src/notify/email.js'
import { storeOutbox } from '../../src/notify/outbox.js'
import { webhookSender } from '../../src/notify/webhook.js'
import { Notifier } from '../../src/notify/worker.js'

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
    onAttempt: (message, result) => { app.metrics.notifications.inc({ channel: message.channel, result }) }
  })
  app.decorate('notifier', notifier)
  app.decorate('mailDestination', mailer.describe)
  if (start) app.addHook('onReady', async () => { notifier.start() })
  app.addHook('preClose', async () => { await notifier.stop() })
  app.addHook('onClose', async () => { mailer.close() })
}

export default fp(notifications, { name: 'notifications', dependencies: ['stores', 'clock', 'metrics'] })
