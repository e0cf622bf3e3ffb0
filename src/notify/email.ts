// E-mail delivery: nodemailer over SMTP when LOCKBOX_SMTP_URL is set, else RFC 5322 `.eml` files in
// <data dir>/outbox/ (readable with any mail client), so a fresh install shows what it would send.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer'
import type { OutboxMessage } from './types.js'

export interface Mailer {
  /** Where mail goes, for the start-up banner and logs (never includes credentials). */
  describe: string
  send: (message: OutboxMessage) => Promise<void>
  close: () => void
}

function mailOf (message: OutboxMessage, from: string): SendMailOptions {
  const email = message.email as NonNullable<OutboxMessage['email']>
  return {
    from,
    to: email.to,
    subject: email.subject,
    text: email.text,
    html: email.html,
    // One id per outbox message: a receiving system can drop a repeat after a retried delivery.
    messageId: `<${message.id}@lockbox-gateway>`,
    headers: { 'x-lockbox-event': message.event, ...(message.requestId === null ? {} : { 'x-lockbox-request-id': message.requestId }) }
  }
}

export function smtpMailer (url: string, from: string): Mailer {
  const transport: Transporter = nodemailer.createTransport(url, { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 } as never)
  const shown = new URL(url)
  return {
    describe: `SMTP ${shown.protocol}//${shown.host}`,
    async send (message) { await transport.sendMail(mailOf(message, from)) },
    close: () => { transport.close() }
  }
}

export function fileMailer (dir: string, from: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    describe: `files in ${dir}`,
    async send (message) {
      const info = await transport.sendMail(mailOf(message, from))
      await mkdir(dir, { recursive: true })
      const stamp = message.createdAt.replace(/[:.]/g, '-')
      await writeFile(join(dir, `${stamp}-${message.kind}-${message.id}.eml`), info.message as Buffer, { mode: 0o600 })
    },
    close: () => { transport.close() }
  }
}
