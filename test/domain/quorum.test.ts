// A customer quorum: progress, who has already counted, and what approvals allow together.
import t from 'tap'
import { createRequest, type Approval, type LockboxRequest } from '../../src/domain/lockbox.js'
import { alreadyApproved, approvalAccess, approvalProgress } from '../../src/domain/quorum.js'

const HOUR = 3_600_000
const base = createRequest({
  id: 'req-1',
  tenantId: 'contoso',
  serviceRequestNumber: '1001',
  workload: 'exchange',
  scope: '/mailboxes',
  accessLevel: 'readwrite',
  duration: 'PT2H',
  durationMs: 2 * HOUR,
  justification: 'j',
  requester: { id: 'eng-ada', name: 'Ada' }
}, { now: 0, pendingTtlMs: HOUR })

function approval (by: string, onBehalfOf: string | null = null): Approval {
  return { by, at: '1970-01-01T00:00:00.000Z', comment: null, onBehalfOf, access: { scope: '/mailboxes', accessLevel: 'readwrite', duration: 'PT2H', durationMs: 2 * HOUR } }
}

t.test('a request stored before quorums needs one approval and has none', async (t) => {
  t.same(approvalProgress(base), { approvals: 0, required: 1 })
  t.same(approvalProgress({ approvals: [approval('a')], approvalsRequired: 3 }), { approvals: 1, required: 3 })
})

t.test('a person counts once, as approver or as the one a delegate stood in for', async (t) => {
  const req: Pick<LockboxRequest, 'approvals'> = { approvals: [approval('b', 'a')] }
  t.ok(alreadyApproved(req, ['b']))
  t.ok(alreadyApproved(req, ['a']), 'the delegator has counted through their delegate')
  t.ok(alreadyApproved(req, ['c', 'a']))
  t.notOk(alreadyApproved(req, ['c', null]))
  t.notOk(alreadyApproved(base, ['a']))
})

t.test('an approval allows its own narrowing, and together with the earlier ones their intersection', async (t) => {
  const first = approvalAccess(base, { scope: '/mailboxes/alice', duration: 'PT1H' })
  t.match(first, { ok: true, allowed: { scope: '/mailboxes/alice', durationMs: HOUR }, access: { scope: '/mailboxes/alice', durationMs: HOUR } })
  const req = { ...base, approvals: [approval('a')], granted: first.ok ? first.access : null }
  t.match(approvalAccess(req, { accessLevel: 'read' }), { ok: true, allowed: { scope: '/mailboxes', accessLevel: 'read' }, access: { scope: '/mailboxes/alice', accessLevel: 'read', durationMs: HOUR } })
  t.match(approvalAccess(req, { scope: '/mailboxes/bob' }), { ok: false, refusal: { code: 'GRANT_DISJOINT' } })
  t.match(approvalAccess(req, { duration: 'PT5H' }), { ok: false, refusal: { code: 'GRANT_WIDENED' } })
})
