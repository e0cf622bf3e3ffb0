import t, { type Test } from 'tap'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { sweepOnce } from '../../src/workflow/sweeper.js'
import { SIGNATURE_HEADER, verifyWebhook } from '../../src/notify/webhook.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { startSmtp } from '../helpers/smtp.js'
import { tempDir } from '../helpers/config.js'
import { auditOf, createRequest, decide, review } from '../helpers/workflow.js'

const HOUR = 3600_000
const SECRET = 'whsec-delivery'

async function deliver (h: TestApp): Promise<void> {
  await h.app.notifier.deliverDue()
}

async function webhookReceiver (t: Test): Promise<{ url: string, deliveries: Array<{ headers: IncomingHttpHeaders, body: string }> }> {
  const deliveries: Array<{ headers: IncomingHttpHeaders, body: string }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += chunk.toString() })
    req.on('end', () => {
      // A receiver accepts only what it can verify: our signature, over this very body, recently.
      const ok = verifyWebhook(req.headers[SIGNATURE_HEADER] as string | undefined, body, SECRET, Math.floor(Date.now() / 1000))
      if (ok) deliveries.push({ headers: req.headers, body })
      res.statusCode = ok ? 204 : 401
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/lockbox`, deliveries }
}

t.test('e-mails the approvers when a request reaches them, and records it', async (t) => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const hook = await webhookReceiver(t)
  const h = await startTestApp({ config: { smtpUrl: smtp.url, mailFrom: 'Lockbox <lockbox@provider.example>', webhookUrl: hook.url, webhookSecret: SECRET, publicUrl: 'https://lockbox.example' } })
  t.teardown(h.close)
  const req = await createRequest(h)
  await review(h, req.id)
  await deliver(h)

  const [mail] = await smtp.waitFor(1)
  t.same(mail?.to && (Array.isArray(mail.to) ? mail.to : [mail.to]).flatMap((a) => a.value.map((v) => v.address)), ['lockbox-approvers@contoso.com', 'megan@contoso.com'])
  t.match(mail?.subject, /^\[Lockbox\] Contoso Ltd\.: access request for service request \d+ awaits your decision$/)
  for (const fact of ['Ada Engineer (eng-ada)', 'exchange', '/mailboxes/alice@contoso.com', 'read', 'PT2H', 'Mailbox rule loop', `https://lockbox.example/admin/#/requests/${req.id}`]) {
    t.ok(mail?.text?.includes(fact), `the text names ${fact}`)
    t.ok((mail?.html as string).includes(fact.replace('&', '&amp;')), `the HTML names ${fact}`)
  }
  t.equal(hook.deliveries.length, 1)
  const body = JSON.parse(hook.deliveries[0]!.body)
  t.match(body, { type: 'lockbox.request.awaiting_customer_approval', request: { id: req.id, status: 'AwaitingCustomerApproval' } })
  t.match(body.text, /Ada Engineer asks for read access/)

  const notified = await auditOf(h, `requestId=${req.id}&operation=ApproversNotified`)
  t.same(notified.map((r) => [r.details.channel, r.details.recipients, r.actor.type]).sort(), [['email', 2, 'System'], ['webhook', 1, 'System']])

  await deliver(h)
  t.equal(smtp.messages.length, 1, 'a delivered notice is not sent again')
})

t.test('tells the engineer the outcome, by e-mail and webhook', async (t) => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const hook = await webhookReceiver(t)
  const h = await startTestApp({ config: { smtpUrl: smtp.url, webhookUrl: hook.url, webhookSecret: SECRET } })
  t.teardown(h.close)
  const approved = await createRequest(h)
  await review(h, approved.id)
  await decide(h, approved.id)
  const rejected = await createRequest(h)
  await review(h, rejected.id, 'Reject')
  await deliver(h)
  const mails = await smtp.waitFor(3)
  const toAda = mails.filter((m) => m.subject?.startsWith('[Lockbox] Your access request'))
  t.same(toAda.map((m) => m.subject?.replace(/.*: /, '')).sort(), ['Approved', 'RejectedByManager'])
  t.ok(toAda.every((m) => (Array.isArray(m.to) ? m.to : [m.to])[0]?.value[0]?.address === 'ada@provider.example'))
  t.same(hook.deliveries.map((d) => JSON.parse(d.body).type).sort(), ['lockbox.request.approved', 'lockbox.request.awaiting_customer_approval', 'lockbox.request.rejected_by_manager'])
  t.equal((await auditOf(h, 'operation=ApproversNotified')).length, 2, 'only notices to approvers are ApproversNotified')
})

t.test('keeps notices through an SMTP outage and delivers each exactly once', async (t) => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const h = await startTestApp({ config: { smtpUrl: smtp.url } })
  t.teardown(h.close)
  smtp.failing = true
  const first = await createRequest(h)
  const second = await createRequest(h)
  await review(h, first.id)
  await review(h, second.id)
  await deliver(h)
  t.equal(smtp.messages.length, 0)
  const failed = await h.app.stores.lockbox.listNotifications({ status: 'pending', limit: 10 })
  t.equal(failed.length, 2)
  t.ok(failed.every((n) => n.attempts === 1 && n.lastError !== null && n.nextAttemptAt > h.now()), 'retries are scheduled with backoff')

  await deliver(h)
  t.equal(smtp.messages.length, 0, 'nothing is attempted before its backoff ends')
  smtp.failing = false
  h.advance(HOUR)
  await deliver(h)
  await smtp.waitFor(2)
  await deliver(h)
  h.advance(HOUR)
  await deliver(h)
  t.equal(smtp.messages.length, 2)
  t.same(new Set(smtp.messages.map((m) => m.messageId)).size, 2, 'two notices, each once')
  t.equal((await h.app.stores.lockbox.listNotifications({ status: 'sent', limit: 10 })).length, 2)
})

t.test('dead-letters a notice after its last attempt', async (t) => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const h = await startTestApp({ config: { smtpUrl: smtp.url } })
  t.teardown(h.close)
  smtp.failing = true
  const req = await createRequest(h)
  await review(h, req.id)
  for (let i = 0; i < 12; i++) {
    await deliver(h)
    h.advance(HOUR)
  }
  const [dead] = await h.app.stores.lockbox.listNotifications({ status: 'dead', limit: 10 })
  t.equal(dead?.attempts, 10)
  t.match(dead?.lastError, /try again later/)
  t.equal((await auditOf(h, 'operation=ApproversNotified')).length, 0)
})

t.test('survives a restart with notices still to deliver', async (t) => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const dir = tempDir()
  t.teardown(dir.remove)
  const first = await startTestApp({ dataDir: dir.path, config: { smtpUrl: smtp.url } })
  smtp.failing = true
  const req = await createRequest(first)
  await review(first, req.id)
  await deliver(first)
  await first.close()
  smtp.failing = false
  const second = await startTestApp({ dataDir: dir.path, config: { smtpUrl: smtp.url } })
  t.teardown(second.close)
  await deliver(second)
  t.equal(smtp.messages.length, 0, 'the failed attempt\'s backoff is remembered across the restart')
  second.advance(HOUR)
  await deliver(second)
  const [mail] = await smtp.waitFor(1)
  t.match(mail?.subject, /awaits your decision/)
})

t.test('reminds the approvers once 75 % of the decision window has passed', async (t) => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const h = await startTestApp({ config: { smtpUrl: smtp.url, pendingTtlMs: 12 * HOUR } })
  t.teardown(h.close)
  const req = await createRequest(h)
  await review(h, req.id)
  h.advance(9 * HOUR - 1)
  t.equal(await sweepOnce(h.app.workflow), 0, 'not yet')
  h.advance(1)
  t.equal(await sweepOnce(h.app.workflow), 1)
  t.equal(await sweepOnce(h.app.workflow), 0, 'only once')
  await deliver(h)
  const mails = await smtp.waitFor(2)
  t.same(mails.map((m) => m.subject?.startsWith('Reminder: ')).sort(), [false, true])
  const [reminded] = await auditOf(h, `requestId=${req.id}&operation=ApproversNotified`).then((records) => records.filter((r) => r.details.kind === 'ApprovalReminder'))
  t.equal(reminded?.details.recipients, 2)

  h.advance(3 * HOUR)
  t.equal(await sweepOnce(h.app.workflow), 1, 'then it expires')
  await deliver(h)
  const expired = await smtp.waitFor(3)
  t.match(expired[2]?.subject, /: Expired$/)
})

t.test('writes readable .eml files when no SMTP server is configured', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  t.equal(h.app.mailDestination, `files in ${join(h.dataDir, 'outbox')}`)
  const req = await createRequest(h)
  await review(h, req.id)
  await deliver(h)
  const files = readdirSync(join(h.dataDir, 'outbox'))
  t.equal(files.length, 1)
  const mail = await simpleParser(readFileSync(join(h.dataDir, 'outbox', files[0]!)))
  t.match(mail.subject, /awaits your decision/)
  t.ok(mail.text?.includes(req.id), 'the link to the request is in the text')
})

t.test('queues nothing for tenants without approvers or webhook, and delivers on its own when started', async (t) => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const h = await startTestApp({ config: { smtpUrl: smtp.url }, overrides: { notify: true } })
  t.teardown(h.close)
  const req = await createRequest(h, { tenantId: 'northwind', scope: '/' })
  await review(h, req.id)
  const bob = await createRequest(h)
  await review(h, bob.id)
  const mails = await smtp.waitFor(2, 10_000)
  t.same(mails.map((m) => m.subject?.includes('Northwind') === true ? 'northwind' : 'contoso').sort(), ['contoso', 'northwind'])
  t.match(mails.find((m) => m.subject?.includes('Northwind') === true)?.subject, /: Approved$/, 'northwind (lockbox off): only the engineer hears, of the approval')
})
