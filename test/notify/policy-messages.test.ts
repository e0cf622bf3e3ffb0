// What approvers, requesters and delegators are told under an approval policy: the quorum in the
// approvers' e-mail, each settled step of an extension, a delegate's decision; e-mail and webhook.
import t from 'tap'
import { createRequest, transition, type LockboxRequest } from '../../src/domain/lockbox.js'
import { extensionTransition } from '../../src/domain/extension.js'
import { newDelegation } from '../../src/domain/delegation.js'
import { approverEmail, delegateNotices, extensionNotices, quorumSentence } from '../../src/notify/messages.js'

const HOUR = 3600_000
const T0 = Date.parse('2026-11-24T09:00:00.000Z')
const tenant = { id: 'contoso', displayName: 'Contoso', lockboxEnabled: true, approverEmails: ['a@contoso.com'] }
const ctx = { tenant, publicUrl: 'https://lockbox.example', now: T0, webhook: true }
const MANAGER = { id: 'mgr', role: 'SupportManager' as const }
const APPROVER = { id: 'lee', role: 'CustomerLockboxApprover' as const }

function step (req: LockboxRequest, result: ReturnType<typeof transition> | ReturnType<typeof extensionTransition>): LockboxRequest {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result)}`)
  return { ...result.request, version: req.version }
}

function awaiting (approvalsRequired: number): LockboxRequest {
  const req = createRequest({
    id: 'req-1',
    tenantId: 'contoso',
    serviceRequestNumber: '100001',
    workload: 'exchange',
    scope: '/mailboxes',
    accessLevel: 'read',
    duration: 'PT2H',
    durationMs: 2 * HOUR,
    justification: 'j',
    requester: { id: 'eng-ada', name: 'Ada' }
  }, { now: T0, pendingTtlMs: 12 * HOUR })
  return step(req, transition(req, 'ManagerApprove', { now: T0, actor: MANAGER, pendingTtlMs: 12 * HOUR, approvalsRequired }))
}

t.test('the approvers\' e-mail says when their approval is one of several needed', async (t) => {
  t.equal(quorumSentence(1, 0), '')
  t.equal(quorumSentence(2, 0), ' It needs two different approvers: your approval is one of two needed.')
  t.equal(quorumSentence(3, 1), ' It needs three different approvers: your approval is one of three needed. 1 of 3 approvals given so far.')
  t.match(approverEmail(awaiting(2), ctx, false).text, 'your approval is one of two needed')
  t.notMatch(approverEmail(awaiting(1), ctx, false).text, 'needed.')
})

t.test('an extension: the approvers hear when it reaches them, the requester when it is settled', async (t) => {
  let req = step(awaiting(1), transition(awaiting(1), 'CustomerApprove', { now: T0, actor: APPROVER, pendingTtlMs: 12 * HOUR }))
  const ectx = { now: T0 + HOUR, actor: { id: 'eng-ada', role: 'SupportEngineer' as const }, pendingTtlMs: 12 * HOUR, maxAccessMs: 4 * HOUR }
  req = step(req, extensionTransition(req, { kind: 'Request', duration: 'PT1H', durationMs: HOUR, justification: 'more' }, ectx))
  t.same(extensionNotices(req, 'ada@provider.example', ctx), [], 'asking tells nobody yet')
  req = step(req, extensionTransition(req, { kind: 'ManagerApprove' }, { ...ectx, actor: MANAGER, approvalsRequired: 2 }))
  const toApprovers = extensionNotices(req, 'ada@provider.example', ctx)
  t.same(toApprovers.map((n) => [n.channel, n.event]), [
    ['email', 'lockbox.request.extension_awaiting_customer_approval'],
    ['webhook', 'lockbox.request.extension_awaiting_customer_approval']
  ])
  t.match(toApprovers[0]?.email?.text, /asks for PT1H more .*your approval is one of two needed/)
  t.match(JSON.parse(toApprovers[1]?.webhook as string), { request: { extension: { status: 'AwaitingCustomerApproval', approvalsRequired: 2 } } })
  t.same(extensionNotices(req, 'ada@provider.example', { ...ctx, tenant: { ...tenant, approverEmails: [] }, webhook: false }), [])
  const denied = step(req, extensionTransition(req, { kind: 'CustomerDeny' }, { ...ectx, actor: APPROVER }))
  const toRequester = extensionNotices(denied, 'ada@provider.example', ctx)
  t.same(toRequester.map((n) => [n.channel, n.event, n.email?.to]), [
    ['email', 'lockbox.request.extension_denied', ['ada@provider.example']],
    ['webhook', 'lockbox.request.extension_denied', undefined]
  ])
  t.match(toRequester[0]?.email?.text, 'Your extension is Denied. Your access is unchanged')
  t.same(extensionNotices(denied, null, { ...ctx, webhook: false }), [])
})

t.test('the delegator hears of a decision taken for them, by e-mail when their address is known', async (t) => {
  const req = awaiting(1)
  const decided = step(req, transition(req, 'CustomerDeny', { now: T0, actor: { id: 'alex', role: 'CustomerLockboxApprover' }, pendingTtlMs: 12 * HOUR, onBehalfOf: 'lee' }))
  t.equal(decided.history.at(-1)?.onBehalfOf, 'lee')
  const known = newDelegation({ id: 'd-1', from: 'lee', to: 'alex', until: T0 + HOUR, createdBy: 'lee', fromEmail: 'lee@contoso.com' }, T0)
  const notices = delegateNotices(decided, known, ctx)
  t.same(notices.map((n) => [n.channel, n.kind, n.event, n.email?.to]), [
    ['email', 'DelegateDecided', 'lockbox.request.decided_by_delegate', ['lee@contoso.com']],
    ['webhook', 'DelegateDecided', 'lockbox.request.decided_by_delegate', undefined]
  ])
  t.match(notices[0]?.email?.text, 'alex took a decision for you (Denied)')
  t.same(delegateNotices(decided, { ...known, fromEmail: null }, { ...ctx, webhook: false }), [])
})
