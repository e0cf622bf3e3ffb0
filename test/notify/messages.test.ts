import t from 'tap'
import { createRequest, transition } from '../../src/domain/lockbox.js'
import { approverEmail, noticesFor, reminderDue, reminderNotices, requesterEmail, webhookBody } from '../../src/notify/messages.js'

const HOUR = 3600_000
const T0 = Date.parse('2026-11-24T09:00:00.000Z')
const tenant = { id: 'contoso', displayName: 'Contoso <Ltd>', lockboxEnabled: true, approverEmails: ['a@contoso.com', 'b@contoso.com'] }
const ctx = { tenant, publicUrl: 'https://lockbox.example', now: T0, webhook: true }

function pending (): ReturnType<typeof createRequest> {
  const req = createRequest({
    id: 'req-1',
    tenantId: 'contoso',
    serviceRequestNumber: '100001',
    workload: 'exchange',
    scope: '/mailboxes/alice@contoso.com',
    accessLevel: 'read',
    duration: 'PT2H',
    durationMs: 2 * HOUR,
    justification: 'Mailbox rule loop <script>',
    requester: { id: 'eng-ada', name: 'Ada Engineer' }
  }, { now: T0, pendingTtlMs: 12 * HOUR })
  const step = transition(req, 'ManagerApprove', { now: T0, actor: { id: 'mgr', role: 'SupportManager' }, pendingTtlMs: 12 * HOUR })
  if (!step.ok) throw new Error('unreachable')
  return step.request
}

t.test('asks the approvers, with every fact and a link to the admin page', async (t) => {
  const mail = approverEmail(pending(), ctx, false)
  t.same(mail.to, ['a@contoso.com', 'b@contoso.com'])
  t.equal(mail.subject, '[Lockbox] Contoso <Ltd>: access request for service request 100001 awaits your decision')
  for (const fact of ['Ada Engineer (eng-ada)', 'exchange', '/mailboxes/alice@contoso.com', 'read', 'PT2H', 'Mailbox rule loop <script>', '2026-11-24 21:00:00 UTC', 'https://lockbox.example/admin/#/requests/req-1']) {
    t.ok(mail.text.includes(fact), `text has ${fact}`)
  }
  t.ok(mail.html.includes('Mailbox rule loop &lt;script&gt;'), 'HTML is escaped')
  t.notOk(mail.html.includes('<script>'))
  t.ok(mail.html.includes('href="https://lockbox.example/admin/#/requests/req-1"'))
  t.match(approverEmail(pending(), ctx, true).subject, /^Reminder: /)
})

t.test('asks about a request stored before quorums as one needing one approval', async (t) => {
  const { approvals: _approvals, approvalsRequired: _required, ...legacy } = pending()
  const mail = approverEmail(legacy, ctx, true)
  t.equal(mail.text, approverEmail(pending(), ctx, true).text)
  t.notMatch(mail.text, /different approvers/)
})

t.test('tells the requester the outcome', async (t) => {
  const req = pending()
  const approved = transition(req, 'CustomerApprove', { now: T0 + 1000, actor: { id: 'x', role: 'CustomerLockboxApprover' }, pendingTtlMs: 0 })
  if (!approved.ok) throw new Error('unreachable')
  const mail = requesterEmail(approved.request, 'ada@provider.example', ctx)
  t.same(mail.to, ['ada@provider.example'])
  t.match(mail.subject, /service request 100001: Approved$/)
  t.match(mail.text, /Access is open until 2026-11-24 11:00:01 UTC/)
  const denied = transition(req, 'CustomerDeny', { now: T0, actor: { id: 'x', role: 'CustomerLockboxApprover' }, comment: 'Not now', pendingTtlMs: 0 })
  if (!denied.ok) throw new Error('unreachable')
  t.match(requesterEmail(denied.request, 'ada@provider.example', ctx).text, /Your request is Denied\. Comment: "Not now"/)
  const silent = transition(req, 'CustomerDeny', { now: T0, actor: { id: 'x', role: 'CustomerLockboxApprover' }, pendingTtlMs: 0 })
  if (!silent.ok) throw new Error('unreachable')
  t.match(requesterEmail(silent.request, 'ada@provider.example', ctx).text, /Your request is Denied\.\n/)
})

t.test('picks the notices each transition causes', async (t) => {
  const req = pending()
  const toApprovers = noticesFor(req, 'AwaitingManagerApproval', 'ada@provider.example', ctx)
  t.same(toApprovers.map((n) => [n.channel, n.kind, n.event]), [['email', 'ApprovalRequested', 'lockbox.request.awaiting_customer_approval'], ['webhook', 'ApprovalRequested', 'lockbox.request.awaiting_customer_approval']])
  t.match(toApprovers[0], { tenantId: 'contoso', requestId: 'req-1', status: 'pending', attempts: 0, nextAttemptAt: T0, lastError: null, webhook: null })
  const body = JSON.parse(toApprovers[1]?.webhook as string)
  t.match(body, { id: toApprovers[1]?.id, type: 'lockbox.request.awaiting_customer_approval', tenant: { id: 'contoso' }, request: { id: 'req-1', status: 'AwaitingCustomerApproval' } })
  t.match(body.text, /^Lockbox: Ada Engineer asks for read access to Contoso <Ltd> exchange/)
  t.notOk('version' in body.request, 'the public view of the request')

  t.same(noticesFor(req, 'AwaitingManagerApproval', null, { ...ctx, webhook: false, tenant: { ...tenant, approverEmails: [] } }), [], 'nobody to tell')
  const revoked = { ...req, status: 'Revoked' as const }
  t.same(noticesFor(revoked, 'Approved', 'ada@provider.example', ctx).map((n) => [n.channel, n.kind, n.event]), [['email', 'RequestDecided', 'lockbox.request.revoked'], ['webhook', 'RequestDecided', 'lockbox.request.revoked']])
  t.same(noticesFor(revoked, 'Approved', null, { ...ctx, webhook: false }), [], 'no address, no webhook')
  t.same(noticesFor({ ...req, status: 'Canceled' }, 'AwaitingCustomerApproval', 'a@b', ctx), [], 'a cancel is the engineer\'s own doing')
  t.same(noticesFor({ ...req, status: 'AwaitingCustomerApproval' }, 'AwaitingCustomerApproval', 'a@b', ctx), [])
})

t.test('reminds once, after 75 % of the decision window', async (t) => {
  const req = pending()
  const ttl = 12 * HOUR
  t.notOk(reminderDue(req, ttl, T0 + 9 * HOUR - 1))
  t.ok(reminderDue(req, ttl, T0 + 9 * HOUR))
  t.notOk(reminderDue(req, ttl, T0 + 12 * HOUR), 'not once it expired')
  t.notOk(reminderDue({ ...req, reminderSentAt: new Date(T0).toISOString() }, ttl, T0 + 10 * HOUR), 'not twice')
  t.notOk(reminderDue({ ...req, status: 'Approved' }, ttl, T0 + 10 * HOUR))
  t.same(reminderNotices(req, ctx).map((n) => [n.channel, n.kind, n.event]), [['email', 'ApprovalReminder', 'lockbox.request.approval_reminder'], ['webhook', 'ApprovalReminder', 'lockbox.request.approval_reminder']])
  t.same(reminderNotices(req, { ...ctx, webhook: false, tenant: { ...tenant, approverEmails: [] } }), [])
  t.match(JSON.parse(webhookBody('x', req, ctx, 'd-1', 'hello')), { id: 'd-1', type: 'x', text: 'hello', createdAt: '2026-11-24T09:00:00.000Z' })
})
