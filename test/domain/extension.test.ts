// The extension state machine's refusals (extension.ts): a step its extension's stage does not
// allow is refused with the state named, never applied. Its happy paths run through the API in
// test/routes/v1/extension.test.ts.
import t from 'tap'
import { extensionTransition, type ExtensionContext, type ExtensionEvent } from '../../src/domain/extension.js'
import { createRequest, transition, type HistoryActor, type LockboxRequest } from '../../src/domain/lockbox.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.parse('2026-11-24T09:00:00.000Z')
const MANAGER: HistoryActor = { id: 'mgr-carol', role: 'SupportManager' }
const APPROVER: HistoryActor = { id: 'contoso-approver', role: 'CustomerLockboxApprover' }

function ctx (now: number, actor: HistoryActor): ExtensionContext {
  return { now, actor, pendingTtlMs: 12 * HOUR, maxAccessMs: 8 * HOUR, lockboxEnabled: true, approvalsRequired: 1 }
}

function must (req: LockboxRequest, event: ExtensionEvent, c: ExtensionContext): LockboxRequest {
  const result = extensionTransition(req, event, c)
  if (!result.ok) throw new Error(`${event.kind} refused: ${JSON.stringify(result)}`)
  return result.request
}

/** An Approved request, its window open from T0 for two hours. */
function approved (): LockboxRequest {
  let req = createRequest({
    id: 'req-1',
    tenantId: 'contoso',
    serviceRequestNumber: '100001',
    workload: 'exchange',
    scope: '/mailboxes/alice@contoso.com',
    accessLevel: 'read',
    duration: 'PT2H',
    durationMs: 2 * HOUR,
    justification: 'Mailbox rule loop',
    requester: { id: 'eng-ada', name: 'Ada Engineer' }
  }, { now: T0, pendingTtlMs: 12 * HOUR })
  for (const [event, actor] of [['ManagerApprove', MANAGER], ['CustomerApprove', APPROVER]] as const) {
    const step = transition(req, event, { now: T0, actor, pendingTtlMs: 12 * HOUR, lockboxEnabled: true })
    if (!step.ok) throw new Error(`${event} refused`)
    req = step.request
  }
  return req
}

const asked: ExtensionEvent = { kind: 'Request', duration: 'PT1H', durationMs: HOUR, justification: 'one more rule' }

t.test('refuses every decision on a request without an extension, saying it has none', async (t) => {
  const req = approved()
  for (const event of [{ kind: 'ManagerApprove' }, { kind: 'ManagerReject' }, { kind: 'CustomerApprove' }, { kind: 'CustomerDeny' }, { kind: 'Expire' }] as ExtensionEvent[]) {
    t.same(extensionTransition(req, event, ctx(T0 + MINUTE, MANAGER)), { ok: false, reason: 'state', status: 'Approved without an extension' }, event.kind)
  }
})

t.test('refuses a step its extension\'s stage does not allow, naming the stage', async (t) => {
  const withManager = must(approved(), asked, ctx(T0 + MINUTE, { id: 'eng-ada', role: 'SupportEngineer' }))
  t.same(extensionTransition(withManager, { kind: 'CustomerApprove' }, ctx(T0 + 2 * MINUTE, APPROVER)),
    { ok: false, reason: 'state', status: 'Approved with an extension AwaitingManagerApproval' })
  const withCustomer = must(withManager, { kind: 'ManagerApprove' }, ctx(T0 + 2 * MINUTE, MANAGER))
  t.same(extensionTransition(withCustomer, { kind: 'ManagerApprove' }, ctx(T0 + 3 * MINUTE, MANAGER)),
    { ok: false, reason: 'state', status: 'Approved with an extension AwaitingCustomerApproval' }, 'a second review')
})

t.test('expires an undecided extension once, as of its deadline, and refuses to expire it again', async (t) => {
  const pending = must(approved(), asked, ctx(T0 + MINUTE, { id: 'eng-ada', role: 'SupportEngineer' }))
  // The window ends before the pending TTL: the decision is due by the window's end.
  const due = Date.parse(pending.accessEndsAt as string)
  t.match(extensionTransition(pending, { kind: 'Expire' }, ctx(due - 1, MANAGER)), { ok: false, reason: 'state' }, 'not before its deadline')
  const expired = must(pending, { kind: 'Expire' }, ctx(due, MANAGER))
  t.match(expired.extension, { status: 'Expired', decisionDeadline: null })
  t.same(extensionTransition(expired, { kind: 'Expire' }, ctx(due + MINUTE, MANAGER)), { ok: false, reason: 'state', status: 'Completed with an extension Expired' })
})
