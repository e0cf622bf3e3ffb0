import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { fileMailer, smtpMailer } from '../../src/notify/email.js'
import type { OutboxMessage } from '../../src/notify/types.js'
import { tempDir } from '../helpers/config.js'
import { startSmtp } from '../helpers/smtp.js'

const message: OutboxMessage = {
  id: 'n-42',
  tenantId: 'contoso',
  requestId: 'req-7',
  channel: 'email',
  kind: 'ApprovalRequested',
  event: 'lockbox.request.awaiting_customer_approval',
  email: { to: ['a@contoso.com', 'b@contoso.com'], subject: 'Decide please', text: 'plain words', html: '<p>html words</p>' },
  webhook: null,
  createdAt: '2026-11-24T09:00:00.000Z',
  status: 'pending',
  attempts: 0,
  nextAttemptAt: 0,
  lastError: null,
  leaseUntil: 0,
  version: 0
}

t.test('sends over SMTP with text, HTML and a stable Message-ID', async (t) => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const mailer = smtpMailer(smtp.url, 'Lockbox <lockbox@provider.example>')
  t.teardown(mailer.close)
  t.equal(mailer.describe, `SMTP smtp://127.0.0.1:${smtp.port}`)
  await mailer.send(message)
  const [mail] = await smtp.waitFor(1)
  t.equal(mail?.subject, 'Decide please')
  t.same((Array.isArray(mail?.to) ? mail.to : [mail?.to]).flatMap((a) => a?.value.map((v) => v.address)), ['a@contoso.com', 'b@contoso.com'])
  t.equal(mail?.from?.value[0]?.address, 'lockbox@provider.example')
  t.equal(mail?.text?.trim(), 'plain words')
  t.equal(mail?.html, '<p>html words</p>')
  t.equal(mail?.messageId, '<n-42@lockbox-gateway>')
  t.equal(mail?.headers.get('x-lockbox-request-id'), 'req-7')
  smtp.failing = true
  await t.rejects(mailer.send(message), 'a refusing server is an error the worker retries')
})

t.test('writes readable .eml files when no SMTP server is configured', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const outbox = join(dir.path, 'outbox')
  const mailer = fileMailer(outbox, 'Lockbox <lockbox@localhost>')
  t.teardown(mailer.close)
  t.equal(mailer.describe, `files in ${outbox}`)
  await mailer.send(message)
  await mailer.send({ ...message, id: 'n-43', requestId: null })
  const files = readdirSync(outbox).sort()
  t.same(files, ['2026-11-24T09-00-00-000Z-ApprovalRequested-n-42.eml', '2026-11-24T09-00-00-000Z-ApprovalRequested-n-43.eml'])
  t.equal(statSync(join(outbox, files[0]!)).mode & 0o777, 0o600)
  const mail = await simpleParser(readFileSync(join(outbox, files[0]!)))
  t.equal(mail.subject, 'Decide please')
  t.equal(mail.html, '<p>html words</p>')
  t.equal(mail.headers.get('x-lockbox-event'), 'lockbox.request.awaiting_customer_approval')
})
