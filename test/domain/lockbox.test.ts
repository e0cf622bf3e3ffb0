// The lockbox request state machine of API.md §3: every transition, every refusal, the clock.
import t from 'tap'
import {
  FINAL_STATUSES,
  STATUSES,
  SYSTEM_ACTOR,
  createRequest,
  effectiveStatus,
  isFinal,
  iso,
  nextTimedChange,
  transition,
  viewRequest,
  type HistoryActor,
  type LockboxEvent,
  type LockboxRequest,
  type RequestStatus,
  type TransitionContext,
  type TransitionResult
} from '../../src/domain/lockbox.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const TTL = 12 * HOUR
const T0 = Date.parse('2025-03-01T08:00:00.000Z')

const ENGINEER: HistoryActor = { id: 'eng-ada', role: 'SupportEngineer' }
const MANAGER: HistoryActor = { id: 'mgr-carol', role: 'SupportManager' }
const APPROVER: HistoryActor = { id: 'contoso-approver', role: 'CustomerLockboxApprover' }

const EVENTS: LockboxEvent[] = [
  'ManagerApprove', 'ManagerReject', 'CustomerApprove', 'CustomerDeny', 'Revoke', 'Cancel', 'CloseServiceRequest', 'Expire', 'Complete'
]

function created (): LockboxRequest {
  return createRequest({
    id: 'req-1',
    tenantId: 'contoso',
    serviceRequestNumber: 'SR-1001',
    workload: 'exchange',
    scope: '/mailboxes/alice@contoso.com',
    accessLevel: 'read',
    duration: 'PT2H',
    durationMs: 2 * HOUR,
    justification: 'Mailbox rule loop, SR-1001',
    requester: { id: 'eng-ada', name: 'Ada Engineer' }
  }, { now: T0, pendingTtlMs: TTL })
}

function ctx (now: number, actor: HistoryActor, extra: Partial<TransitionContext> = {}): TransitionContext {
  return { now, actor, pendingTtlMs: TTL, ...extra }
}

// A refusal throws, which fails the test that expected the transition.
function must (result: TransitionResult): LockboxRequest & { operation: string, from: RequestStatus } {
  if (!result.ok) throw new Error(`transition refused in ${result.status}`)
  return { ...result.request, operation: result.operation, from: result.from }
}

function step (req: LockboxRequest, event: LockboxEvent, c: TransitionContext): LockboxRequest {
  const result = transition(req, event, c)
  if (!result.ok) throw new Error(`${event} refused in ${result.status}`)
  return result.request
}

// A request in each stored status, reached through the machine itself, with the time at which the
// stored status is still the effective one.
const at1h = T0 + HOUR
const at2h = T0 + 2 * HOUR
const awaitingManager = created()
const awaitingCustomer = step(awaitingManager, 'ManagerApprove', ctx(at1h, MANAGER, { lockboxEnabled: true }))
const approved = step(awaitingCustomer, 'CustomerApprove', ctx(at2h, APPROVER))
const STORED: Record<RequestStatus, LockboxRequest> = {
  AwaitingManagerApproval: awaitingManager,
  AwaitingCustomerApproval: awaitingCustomer,
  Approved: approved,
  RejectedByManager: step(awaitingManager, 'ManagerReject', ctx(at1h, MANAGER)),
  Denied: step(awaitingCustomer, 'CustomerDeny', ctx(at2h, APPROVER)),
  Expired: step(awaitingManager, 'Expire', ctx(T0 + TTL, SYSTEM_ACTOR)),
  Revoked: step(approved, 'Revoke', ctx(T0 + 3 * HOUR, APPROVER)),
  Canceled: step(awaitingManager, 'Cancel', ctx(at1h, ENGINEER)),
  Completed: step(approved, 'Complete', ctx(T0 + 5 * HOUR, SYSTEM_ACTOR))
}
// Three minutes past the last change: every stored status above is still the effective one then.
const STILL = T0 + 2 * HOUR + 3 * MINUTE

t.test('creates a request awaiting the manager with a decision deadline', async (t) => {
  const req = created()
  t.strictSame(req, {
    id: 'req-1',
    tenantId: 'contoso',
    serviceRequestNumber: 'SR-1001',
    workload: 'exchange',
    scope: '/mailboxes/alice@contoso.com',
    accessLevel: 'read',
    duration: 'PT2H',
    durationMs: 2 * HOUR,
    justification: 'Mailbox rule loop, SR-1001',
    requester: { id: 'eng-ada', name: 'Ada Engineer' },
    status: 'AwaitingManagerApproval',
    createdAt: '2025-03-01T08:00:00.000Z',
    decisionDeadline: '2025-03-01T20:00:00.000Z',
    accessStartsAt: null,
    accessEndsAt: null,
    history: [{ at: '2025-03-01T08:00:00.000Z', action: 'Created', actor: { id: 'eng-ada', role: 'SupportEngineer' }, comment: null }],
    version: 0
  })
})

t.test('manager approval with lockbox on awaits the customer with a fresh deadline', async (t) => {
  const req = created()
  const next = must(transition(req, 'ManagerApprove', ctx(at1h, MANAGER, { lockboxEnabled: true, comment: 'looks right' })))
  t.equal(next.status, 'AwaitingCustomerApproval')
  t.equal(next.from, 'AwaitingManagerApproval')
  t.equal(next.operation, 'LockboxRequestManagerApproved')
  t.equal(next.decisionDeadline, iso(at1h + TTL))
  t.equal(next.accessStartsAt, null)
  t.equal(next.accessEndsAt, null)
  t.equal(next.version, 0, 'the store bumps the version, not the machine')
  t.strictSame(next.history.at(-1), { at: iso(at1h), action: 'ManagerApproved', actor: MANAGER, comment: 'looks right' })
  t.equal(next.history.length, 2)
  t.equal(req.status, 'AwaitingManagerApproval', 'the input is not mutated')
  t.equal(req.history.length, 1)
})

t.test('manager approval uses the pending TTL it is given', async (t) => {
  const next = must(transition(created(), 'ManagerApprove', { now: at1h, actor: MANAGER, lockboxEnabled: true, pendingTtlMs: 30 * MINUTE }))
  t.equal(next.decisionDeadline, iso(at1h + 30 * MINUTE))
})

t.test('manager approval treats an unknown lockbox setting as on', async (t) => {
  const next = must(transition(created(), 'ManagerApprove', ctx(at1h, MANAGER)))
  t.equal(next.status, 'AwaitingCustomerApproval')
})

t.test('manager approval with lockbox off approves and opens the access window at once', async (t) => {
  const next = must(transition(created(), 'ManagerApprove', ctx(at1h, MANAGER, { lockboxEnabled: false })))
  t.equal(next.status, 'Approved')
  t.equal(next.operation, 'LockboxRequestManagerApproved')
  t.equal(next.decisionDeadline, null)
  t.equal(next.accessStartsAt, iso(at1h))
  t.equal(next.accessEndsAt, iso(at1h + 2 * HOUR))
  t.strictSame(next.history.at(-1), { at: iso(at1h), action: 'ManagerApproved', actor: MANAGER, comment: null })
})

t.test('manager rejection is final', async (t) => {
  const next = must(transition(created(), 'ManagerReject', ctx(at1h, MANAGER, { comment: 'no SR link' })))
  t.equal(next.status, 'RejectedByManager')
  t.equal(next.operation, 'LockboxRequestManagerRejected')
  t.equal(next.decisionDeadline, null)
  t.strictSame(next.history.at(-1), { at: iso(at1h), action: 'ManagerRejected', actor: MANAGER, comment: 'no SR link' })
  t.ok(isFinal(next.status))
})

t.test('customer approval opens the window from now for the requested duration', async (t) => {
  const next = must(transition(awaitingCustomer, 'CustomerApprove', ctx(at2h, APPROVER, { comment: 'ok' })))
  t.equal(next.status, 'Approved')
  t.equal(next.from, 'AwaitingCustomerApproval')
  t.equal(next.operation, 'LockboxRequestApproved')
  t.equal(next.decisionDeadline, null)
  t.equal(next.accessStartsAt, '2025-03-01T10:00:00.000Z')
  t.equal(next.accessEndsAt, '2025-03-01T12:00:00.000Z')
  t.strictSame(next.history.map((h) => h.action), ['Created', 'ManagerApproved', 'Approved'])
  t.strictSame(next.history.at(-1), { at: iso(at2h), action: 'Approved', actor: APPROVER, comment: 'ok' })
})

t.test('one approval opens a request stored before quorums, which carries neither approvals nor a quorum', async (t) => {
  const { approvals: _approvals, approvalsRequired: _required, ...stored } = awaitingCustomer
  const next = must(transition(stored, 'CustomerApprove', ctx(at2h, APPROVER)))
  t.equal(next.status, 'Approved')
  t.equal(next.operation, 'LockboxRequestApproved')
  t.equal(next.accessEndsAt, '2025-03-01T12:00:00.000Z')
  t.strictSame(next.approvals?.map((a) => a.by), ['contoso-approver'])
})

t.test('customer denial is final', async (t) => {
  const next = must(transition(awaitingCustomer, 'CustomerDeny', ctx(at2h, APPROVER)))
  t.equal(next.status, 'Denied')
  t.equal(next.operation, 'LockboxRequestDenied')
  t.equal(next.decisionDeadline, null)
  t.strictSame(next.history.at(-1), { at: iso(at2h), action: 'Denied', actor: APPROVER, comment: null })
})

t.test('revoking ends the window now', async (t) => {
  const now = at2h + 30 * MINUTE
  const next = must(transition(approved, 'Revoke', ctx(now, APPROVER, { comment: 'done with it' })))
  t.equal(next.status, 'Revoked')
  t.equal(next.operation, 'LockboxAccessRevoked')
  t.equal(next.accessStartsAt, iso(at2h))
  t.equal(next.accessEndsAt, iso(now))
  t.strictSame(next.history.at(-1), { at: iso(now), action: 'Revoked', actor: APPROVER, comment: 'done with it' })
})

for (const event of ['Cancel', 'CloseServiceRequest'] as const) {
  const actor: HistoryActor = event === 'Cancel' ? ENGINEER : { id: 'contoso-user', role: 'CustomerUser' }

  t.test(`${event} of an awaiting request cancels it`, async (t) => {
    for (const req of [awaitingManager, awaitingCustomer]) {
      const next = must(transition(req, event, ctx(STILL, actor, { comment: 'fixed meanwhile' })))
      t.equal(next.status, 'Canceled')
      t.equal(next.from, req.status)
      t.equal(next.operation, 'LockboxRequestCanceled')
      t.equal(next.decisionDeadline, null)
      t.equal(next.accessEndsAt, null)
      t.strictSame(next.history.at(-1), { at: iso(STILL), action: 'Canceled', actor, comment: 'fixed meanwhile' })
    }
  })

  t.test(`${event} of an approved request completes the access now`, async (t) => {
    const next = must(transition(approved, event, ctx(STILL, actor)))
    t.equal(next.status, 'Completed')
    t.equal(next.from, 'Approved')
    t.equal(next.operation, 'LockboxAccessCompleted')
    t.equal(next.accessStartsAt, iso(at2h))
    t.equal(next.accessEndsAt, iso(STILL))
    t.strictSame(next.history.at(-1), { at: iso(STILL), action: 'Completed', actor, comment: null })
  })
}

t.test('expires either awaiting stage once its deadline passes, as of the deadline, by System', async (t) => {
  for (const req of [awaitingManager, awaitingCustomer]) {
    const deadline = Date.parse(req.decisionDeadline as string)
    for (const now of [deadline, deadline + 5 * HOUR]) {
      const next = must(transition(req, 'Expire', ctx(now, MANAGER, { comment: 'ignored' })))
      t.equal(next.status, 'Expired')
      t.equal(next.from, req.status)
      t.equal(next.operation, 'LockboxRequestExpired')
      t.strictSame(next.history.at(-1), { at: iso(deadline), action: 'Expired', actor: SYSTEM_ACTOR, comment: null })
      t.equal(next.history.length, req.history.length + 1)
    }
  }
})

t.test('completes an approved request once its window ends, as of the window end, by System', async (t) => {
  const end = Date.parse(approved.accessEndsAt as string)
  for (const now of [end, end + 3 * HOUR]) {
    const next = must(transition(approved, 'Complete', ctx(now, APPROVER, { comment: 'ignored' })))
    t.equal(next.status, 'Completed')
    t.equal(next.from, 'Approved')
    t.equal(next.operation, 'LockboxAccessCompleted')
    t.equal(next.accessEndsAt, approved.accessEndsAt)
    t.strictSame(next.history.at(-1), { at: iso(end), action: 'Completed', actor: SYSTEM_ACTOR, comment: null })
  }
})

t.test('refuses every event a status does not allow, naming the status', async (t) => {
  const allowed: Record<LockboxEvent, RequestStatus[]> = {
    ManagerApprove: ['AwaitingManagerApproval'],
    ManagerReject: ['AwaitingManagerApproval'],
    CustomerApprove: ['AwaitingCustomerApproval'],
    CustomerDeny: ['AwaitingCustomerApproval'],
    Revoke: ['Approved'],
    Cancel: ['AwaitingManagerApproval', 'AwaitingCustomerApproval', 'Approved'],
    CloseServiceRequest: ['AwaitingManagerApproval', 'AwaitingCustomerApproval', 'Approved'],
    // Time-driven: never allowed while the clock has not made them true.
    Expire: [],
    Complete: []
  }
  for (const status of STATUSES) {
    const req = STORED[status]
    t.equal(effectiveStatus(req, STILL), status, `${status} is still effective`)
    for (const event of EVENTS) {
      const result = transition(req, event, ctx(STILL, MANAGER))
      if (allowed[event].includes(status)) t.equal(result.ok, true, `${event} from ${status}`)
      else t.strictSame(result, { ok: false, status }, `${event} from ${status}`)
    }
  }
})

t.test('refuses every decision on a request whose deadline has passed, though stored as awaiting', async (t) => {
  for (const req of [awaitingManager, awaitingCustomer]) {
    const late = Date.parse(req.decisionDeadline as string)
    t.equal(effectiveStatus(req, late - 1), req.status, 'one millisecond before the deadline it still awaits')
    for (const event of EVENTS.filter((e) => e !== 'Expire')) {
      t.strictSame(transition(req, event, ctx(late, MANAGER)), { ok: false, status: 'Expired' }, `${event} from ${req.status}`)
    }
  }
})

t.test('refuses every action on an approved request whose window has ended', async (t) => {
  const end = Date.parse(approved.accessEndsAt as string)
  t.equal(effectiveStatus(approved, end - 1), 'Approved')
  for (const event of EVENTS.filter((e) => e !== 'Complete')) {
    t.strictSame(transition(approved, event, ctx(end, APPROVER)), { ok: false, status: 'Completed' }, event)
  }
})

t.test('refuses Expire and Complete before their time', async (t) => {
  const deadline = Date.parse(awaitingCustomer.decisionDeadline as string)
  t.strictSame(transition(awaitingCustomer, 'Expire', ctx(deadline - 1, SYSTEM_ACTOR)), { ok: false, status: 'AwaitingCustomerApproval' })
  const end = Date.parse(approved.accessEndsAt as string)
  t.strictSame(transition(approved, 'Complete', ctx(end - 1, SYSTEM_ACTOR)), { ok: false, status: 'Approved' })
})

t.test('refuses Expire and Complete once they are written down', async (t) => {
  const later = T0 + 100 * HOUR
  t.strictSame(transition(STORED.Expired, 'Expire', ctx(later, SYSTEM_ACTOR)), { ok: false, status: 'Expired' })
  t.strictSame(transition(STORED.Completed, 'Complete', ctx(later, SYSTEM_ACTOR)), { ok: false, status: 'Completed' })
  // A canceled approved request is Completed too, but not by the clock.
  const canceled = step(approved, 'Cancel', ctx(STILL, ENGINEER))
  t.strictSame(transition(canceled, 'Complete', ctx(later, SYSTEM_ACTOR)), { ok: false, status: 'Completed' })
})

t.test('evaluates the status against the clock', async (t) => {
  const deadline = Date.parse(awaitingManager.decisionDeadline as string)
  t.equal(effectiveStatus(awaitingManager, deadline - 1), 'AwaitingManagerApproval')
  t.equal(effectiveStatus(awaitingManager, deadline), 'Expired')
  const end = Date.parse(approved.accessEndsAt as string)
  t.equal(effectiveStatus(approved, end - 1), 'Approved')
  t.equal(effectiveStatus(approved, end), 'Completed')
  // Final statuses do not move with time.
  for (const status of FINAL_STATUSES) t.equal(effectiveStatus(STORED[status], T0 + 1000 * HOUR), status)
  // Without a deadline or window end there is nothing for the clock to end.
  t.equal(effectiveStatus({ status: 'AwaitingCustomerApproval', decisionDeadline: null, accessEndsAt: null }, T0 + 1000 * HOUR), 'AwaitingCustomerApproval')
  t.equal(effectiveStatus({ status: 'Approved', decisionDeadline: null, accessEndsAt: null }, T0 + 1000 * HOUR), 'Approved')
})

t.test('tells which statuses are final', async (t) => {
  const final = ['RejectedByManager', 'Denied', 'Expired', 'Revoked', 'Canceled', 'Completed']
  for (const status of STATUSES) t.equal(isFinal(status), final.includes(status), status)
  t.strictSame([...FINAL_STATUSES].sort(), [...final].sort())
})

t.test('tells when a request changes status by itself', async (t) => {
  t.equal(nextTimedChange(awaitingManager), Date.parse('2025-03-01T20:00:00.000Z'))
  t.equal(nextTimedChange(awaitingCustomer), at1h + TTL)
  t.equal(nextTimedChange(approved), at2h + 2 * HOUR)
  for (const status of FINAL_STATUSES) t.equal(nextTimedChange(STORED[status]), null, status)
  t.equal(nextTimedChange({ ...awaitingCustomer, decisionDeadline: null }), null)
  t.equal(nextTimedChange({ ...approved, accessEndsAt: null }), null)
})

t.test('shows a request without its internal fields', async (t) => {
  const view = viewRequest({ ...approved, version: 7 }, STILL)
  t.notOk('version' in view)
  t.notOk('durationMs' in view)
  t.equal(view.status, 'Approved')
  t.strictSame(view.history, approved.history)
  const { version: _v, durationMs: _d, approvals, granted: _g, ...rest } = approved
  const grant = { scope: approved.scope, accessLevel: approved.accessLevel, duration: approved.duration }
  t.equal(approvals?.length, 1)
  t.strictSame(view, {
    ...rest,
    approvals: [{ by: APPROVER.id, at: approved.accessStartsAt, comment: null, onBehalfOf: null, granted: grant }],
    approvalsRequired: 1,
    granted: grant,
    extension: null
  })
})

t.test('shows an expiry the sweeper has not written yet, in status and history', async (t) => {
  const deadline = Date.parse(awaitingCustomer.decisionDeadline as string)
  const view = viewRequest(awaitingCustomer, deadline + HOUR)
  t.equal(view.status, 'Expired')
  t.equal(view.history.length, awaitingCustomer.history.length + 1)
  t.strictSame(view.history.at(-1), { at: iso(deadline), action: 'Expired', actor: SYSTEM_ACTOR, comment: null })
  t.equal(awaitingCustomer.status, 'AwaitingCustomerApproval', 'the stored request is not changed')
  t.equal(awaitingCustomer.history.length, 2)
})

t.test('shows a completion the sweeper has not written yet, in status and history', async (t) => {
  const end = Date.parse(approved.accessEndsAt as string)
  const view = viewRequest(approved, end + MINUTE)
  t.equal(view.status, 'Completed')
  t.strictSame(view.history.at(-1), { at: iso(end), action: 'Completed', actor: SYSTEM_ACTOR, comment: null })
  t.notOk('version' in view)
})

t.test('shows a written-down expiry once, not twice', async (t) => {
  const view = viewRequest(STORED.Expired, T0 + 100 * HOUR)
  t.equal(view.status, 'Expired')
  t.strictSame(view.history.map((h) => h.action), ['Created', 'Expired'])
})

t.test('keeps the system actor immutable', async (t) => {
  t.strictSame(SYSTEM_ACTOR, { id: 'system', role: 'System' })
  t.ok(Object.isFrozen(SYSTEM_ACTOR))
})

t.test('writes times as ISO 8601 UTC with milliseconds', async (t) => {
  t.equal(iso(T0 + 5), '2025-03-01T08:00:00.005Z')
})
