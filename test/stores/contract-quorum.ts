// A customer quorum on every backend: approvers racing each other through the real workflow
// (read, decide, compare-and-set, retry) end in exactly the right outcome, one record per decision.
import type { AuditRecord } from '../../src/domain/audit.js'
import { transition, type LockboxRequest } from '../../src/domain/lockbox.js'
import type { Caller } from '../../src/domain/policy.js'
import type { SettledTenant } from '../../src/domain/tenant.js'
import { actOnRequest } from '../../src/workflow/requests.js'
import type { WorkflowContext } from '../../src/workflow/context.js'
import type { Stores } from '../../src/stores/types.js'
import { relyingPartyOf } from '../../src/passkeys/webauthn.js'
import { MINUTE, HOUR, PENDING_TTL, T0, newRequest, openFor, storeRequest, type OpenStores, type Test } from './contract-fixtures.js'

function approver (id: string): Caller {
  return { id, name: id, email: null, tenantId: 'contoso', provider: false, roles: new Set(['CustomerLockboxApprover']) }
}

function contextFor (stores: Stores, approvalsRequired: number): WorkflowContext {
  const tenant: SettledTenant = { id: 'contoso', displayName: 'Contoso', lockboxEnabled: true, approverEmails: [], approvalsRequired, requireSignedApprovals: false }
  return {
    stores,
    tenants: { get: async () => tenant, getVersioned: async () => ({ tenant, settings: null }), ids: () => ['contoso'] },
    pendingTtlMs: PENDING_TTL,
    maxAccessMs: 4 * HOUR,
    now: () => T0 + 2 * MINUTE,
    notices: { publicUrl: 'http://lockbox.test', webhook: false },
    relyingParty: relyingPartyOf('http://lockbox.test'),
    notificationsQueued: () => {}
  }
}

/** A request the manager approved, awaiting `approvalsRequired` customer approvals. */
async function awaitingQuorum (stores: Stores, approvalsRequired: number): Promise<LockboxRequest> {
  const created = await storeRequest(stores, newRequest())
  const result = transition(created, 'ManagerApprove', {
    now: T0 + MINUTE, actor: { id: 'mgr-1', role: 'SupportManager' }, pendingTtlMs: PENDING_TTL, lockboxEnabled: true, approvalsRequired
  })
  if (!result.ok) throw new Error('manager approval refused')
  await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: result.request, expectedVersion: created.version }], audit: [] })
  return await stores.lockbox.getRequest(created.id) as LockboxRequest
}

async function decisionRecords (stores: Stores, requestId: string): Promise<AuditRecord[]> {
  return (await stores.audit.query({
    requestId, operations: ['LockboxRequestApprovalAdded', 'LockboxRequestApproved', 'LockboxRequestDenied'], limit: 100
  })).items
}

const codeOf = (outcome: PromiseSettledResult<unknown>): string | undefined =>
  outcome.status === 'rejected' ? (outcome.reason as { code?: string }).code : undefined

export function quorumContract (t: Test, open: OpenStores): void {
  t.test('five approvers racing for a quorum of three: three count, one record each, the last one opens the window', async (t) => {
    const stores = await openFor(t, open)
    const ctx = contextFor(stores, 3)
    const request = await awaitingQuorum(stores, 3)
    const outcomes = await Promise.allSettled(['a-1', 'a-2', 'a-3', 'a-4', 'a-5'].map(async (id) =>
      await actOnRequest(ctx, { caller: approver(id), clientIp: null }, request.id, { kind: 'decision', decision: 'Approve' })))
    t.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 3)
    t.same(outcomes.filter((o) => o.status === 'rejected').map(codeOf), ['INVALID_STATE', 'INVALID_STATE'], 'the late ones find it Approved')
    const stored = await stores.lockbox.getRequest(request.id) as LockboxRequest
    t.equal(stored.status, 'Approved')
    t.equal(new Set(stored.approvals?.map((a) => a.by)).size, 3, 'three distinct people')
    const records = await decisionRecords(stores, request.id)
    t.same(records.map((r) => r.operation), ['LockboxRequestApprovalAdded', 'LockboxRequestApprovalAdded', 'LockboxRequestApproved'])
    t.same(records.map((r) => [r.details.approvals, r.details.required]), [[1, 3], [2, 3], [3, 3]])
    t.same(records.map((r) => r.actor.id).sort(), stored.approvals?.map((a) => a.by).sort(), 'one record per counted approval')
  })

  t.test('one person approving four times at once counts once', async (t) => {
    const stores = await openFor(t, open)
    const ctx = contextFor(stores, 2)
    const request = await awaitingQuorum(stores, 2)
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, async () =>
      await actOnRequest(ctx, { caller: approver('a-1'), clientIp: null }, request.id, { kind: 'decision', decision: 'Approve' })))
    t.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
    t.same(outcomes.filter((o) => o.status === 'rejected').map(codeOf), ['ALREADY_APPROVED', 'ALREADY_APPROVED', 'ALREADY_APPROVED'])
    const stored = await stores.lockbox.getRequest(request.id) as LockboxRequest
    t.equal(stored.status, 'AwaitingCustomerApproval')
    t.equal(stored.approvals?.length, 1)
    t.same((await decisionRecords(stores, request.id)).map((r) => r.operation), ['LockboxRequestApprovalAdded'])
  })

  t.test('a deny racing with approvals ends it: the records say exactly what the request shows', async (t) => {
    const stores = await openFor(t, open)
    const ctx = contextFor(stores, 3)
    const request = await awaitingQuorum(stores, 3)
    const act = async (id: string, decision: 'Approve' | 'Deny'): Promise<LockboxRequest> =>
      await actOnRequest(ctx, { caller: approver(id), clientIp: null }, request.id, { kind: 'decision', decision })
    const outcomes = await Promise.allSettled([act('a-1', 'Approve'), act('a-2', 'Deny'), act('a-3', 'Approve'), act('a-4', 'Approve')])
    const stored = await stores.lockbox.getRequest(request.id) as LockboxRequest
    const records = await decisionRecords(stores, request.id)
    const won = outcomes.filter((o) => o.status === 'fulfilled').length
    t.equal(records.length, won, 'one record per decision that counted')
    t.ok(outcomes.filter((o) => o.status === 'rejected').every((o) => codeOf(o) === 'INVALID_STATE'))
    if (stored.status === 'Denied') {
      t.equal(records.at(-1)?.operation, 'LockboxRequestDenied', 'nothing follows the deny')
      t.equal(records.filter((r) => r.operation === 'LockboxRequestApprovalAdded').length, stored.approvals?.length)
    } else {
      t.equal(stored.status, 'Approved', 'the deny came after the quorum')
      t.equal(outcomes[1]?.status, 'rejected')
      t.same(records.map((r) => r.operation), ['LockboxRequestApprovalAdded', 'LockboxRequestApprovalAdded', 'LockboxRequestApproved'])
    }
  })

  t.test('keeps a tenant\'s quorum and delegations in its settings', async (t) => {
    const stores = await openFor(t, open)
    const settings = {
      tenantId: 'contoso',
      lockboxEnabled: true,
      approverEmails: [],
      approvalsRequired: 2,
      delegations: [{
        id: 'd-1', from: 'a-1', to: 'a-2', until: '2025-06-03T08:00:00.000Z', createdAt: '2025-06-02T08:00:00.000Z', createdBy: 'a-1', fromEmail: null, revokedAt: null, revokedBy: null
      }],
      version: 0
    }
    await stores.lockbox.commit({ tenantId: 'contoso', tenantSettings: { value: settings, expectedVersion: 0 }, audit: [] })
    t.same(await stores.lockbox.getTenantSettings('contoso'), { ...settings, version: 1 })
  })
}
