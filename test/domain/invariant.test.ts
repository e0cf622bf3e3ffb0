import t from 'tap'
import { EMPTY_HEAD, sealRecord, type AuditDraft, type AuditOperation, type AuditRecord } from '../../src/domain/audit.js'
import { createRequest, transition, type LockboxEvent, type LockboxRequest } from '../../src/domain/lockbox.js'
import { describeMismatch, InvariantChecker, MAX_REPORTED_VIOLATIONS, stateMismatch } from '../../src/domain/invariant.js'
import { draftFor } from '../helpers/audit-records.js'

function sealed (specs: Array<[AuditOperation, string | null, Record<string, unknown>?]>): AuditRecord[] {
  let head = EMPTY_HEAD
  return specs.map(([operation, requestId, details], i) => {
    const draft: AuditDraft = { ...draftFor('contoso', i), operation, requestId, details: details ?? {} }
    const record = sealRecord(draft, head, { id: `r-${i}`, time: new Date(Date.UTC(2026, 10, 24, 9, 0, i)).toISOString() })
    head = record
    return record
  })
}

t.test('names every ContentAccessed after the record that ended its request, by seq', async (t) => {
  const records = sealed([
    ['LockboxRequestApproved', 'a'],
    ['ContentAccessed', 'a'],
    ['ContentAccessed', 'b'],
    ['LockboxAccessRevoked', 'a'],
    ['ContentAccessCompleted', 'a'],
    ['ContentAccessDenied', 'a'],
    ['ContentAccessed', 'a'],
    ['LockboxAccessCompleted', 'b'],
    ['LockboxRequestCanceled', 'b'],
    ['ContentAccessed', 'b'],
    ['ServiceRequestOpened', null],
    ['ContentAccessed', 'c']
  ])
  const checker = new InvariantChecker()
  for (const record of records) checker.push(record)
  t.same(checker.result(), {
    invariantViolations: [{ seq: 7, requestId: 'a', endedBySeq: 4 }, { seq: 10, requestId: 'b', endedBySeq: 8 }],
    invariantViolationCount: 2
  })
  for (const operation of ['LockboxRequestExpired', 'LockboxRequestDenied', 'LockboxRequestManagerRejected'] as const) {
    const one = new InvariantChecker()
    for (const record of sealed([[operation, 'x'], ['ContentAccessed', 'x']])) one.push(record)
    t.equal(one.result().invariantViolationCount, 1, `${operation} ends a request`)
  }
})

t.test('names the first violations and counts the rest', async (t) => {
  const checker = new InvariantChecker()
  checker.push({ seq: 1, operation: 'LockboxAccessRevoked', requestId: 'a' })
  for (let seq = 2; seq < MAX_REPORTED_VIOLATIONS + 12; seq++) checker.push({ seq, operation: 'ContentAccessed', requestId: 'a' })
  const result = checker.result()
  t.equal(result.invariantViolations.length, MAX_REPORTED_VIOLATIONS)
  t.equal(result.invariantViolationCount, MAX_REPORTED_VIOLATIONS + 10)
})

const T0 = Date.parse('2026-11-24T09:00:00.000Z')
const ACTOR = { id: 'approver', role: 'CustomerLockboxApprover' as const }

/** A request walked through `events`, and the transition records the workflow would have written. */
function walked (events: LockboxEvent[]): { request: LockboxRequest, records: AuditRecord[] } {
  let request = createRequest({ id: 'req-1', tenantId: 'contoso', serviceRequestNumber: '100001', workload: 'exchange', scope: '/mailboxes/a', accessLevel: 'read', duration: 'PT1H', durationMs: 3_600_000, justification: 'j', requester: { id: 'eng', name: 'Eng' } }, { now: T0, pendingTtlMs: 3_600_000 })
  const specs: Array<[AuditOperation, string, Record<string, unknown>]> = [['LockboxRequestCreated', 'req-1', { status: request.status }]]
  events.forEach((event, i) => {
    const result = transition(request, event, { now: T0 + (i + 1) * 1000, actor: ACTOR, pendingTtlMs: 3_600_000 })
    if (!result.ok) throw new Error(event)
    request = { ...result.request, version: i + 2 }
    specs.push([result.operation, 'req-1', { status: request.status, ...(request.accessEndsAt === null ? {} : { accessEndsAt: request.accessEndsAt }) }])
  })
  return { request, records: sealed(specs) }
}

t.test('a stored request must be in the state its transition records leave it in', async (t) => {
  const revoked = walked(['ManagerApprove', 'CustomerApprove', 'Revoke'])
  t.equal(stateMismatch(revoked.request, revoked.records), null, 'as recorded')
  const revived = { ...revoked.request, status: 'Approved' as const, accessEndsAt: '2026-11-24T12:00:00.000Z' }
  const mismatch = stateMismatch(revived, revoked.records)
  t.same(mismatch, { tenantId: 'contoso', requestId: 'req-1', storedStatus: 'Approved', chainStatus: 'Revoked', seq: 4, field: 'status' })
  t.equal(describeMismatch(mismatch as NonNullable<typeof mismatch>),
    'request req-1 of tenant contoso is stored as Approved, but its audit chain says otherwise (record 4 left it Revoked): the stored state was changed outside the gateway')

  const approved = walked(['ManagerApprove', 'CustomerApprove'])
  t.equal(stateMismatch(approved.request, approved.records), null)
  const extended = stateMismatch({ ...approved.request, accessEndsAt: '2027-01-01T00:00:00.000Z' }, approved.records)
  t.match(extended, { field: 'accessEndsAt', chainStatus: 'Approved' })
  t.match(describeMismatch(extended as NonNullable<typeof extended>), /is stored with a accessEndsAt its chain does not back/)
  t.match(stateMismatch({ ...approved.request, history: approved.request.history.slice(1) }, approved.records), { field: 'history' })
  t.match(stateMismatch(approved.request, [{ ...approved.records[2] as AuditRecord, details: { status: 'Approved' } }]), { field: 'accessEndsAt' }, 'an approval record without its window')
  t.equal(stateMismatch({ ...approved.request, history: approved.request.history.slice(1) }, approved.records.slice(1)), null, 'history is not judged once the creation record is pruned')
  t.equal(stateMismatch(approved.request, []), null, 'nothing to judge without records')
  const noStatus = stateMismatch(approved.request, [{ ...approved.records[2] as AuditRecord, details: {} }])
  t.match(noStatus, { chainStatus: null, field: 'status' })
  t.match(describeMismatch(noStatus as NonNullable<typeof noStatus>), /left it without a status/)
})
