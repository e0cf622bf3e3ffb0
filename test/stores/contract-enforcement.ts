// The enforcement invariant (Change.requireApproved): a change guarded by a grant commits only while
// that grant is stored Approved and inside its window, checked in the same atomic step as the seal.
import type { AuditRecord } from '../../src/domain/audit.js'
import type { LockboxRequest } from '../../src/domain/lockbox.js'
import { GrantEndedError } from '../../src/errors.js'
import type { Change, Stores } from '../../src/stores/types.js'
import { advance, draft, HOUR, MINUTE, newNotification, newRequest, next, openFor, storeRequest, T0, type OpenStores, type Test } from './contract-fixtures.js'

const APPROVED_AT = T0 + 2 * MINUTE

async function approved (stores: Stores, spec: Parameters<typeof newRequest>[0] = {}): Promise<LockboxRequest> {
  const created = await storeRequest(stores, newRequest(spec))
  return await advance(stores, await advance(stores, created, 'ManagerApprove', T0 + MINUTE), 'CustomerApprove', APPROVED_AT)
}

function access (request: LockboxRequest, now: number, n = 0): Change {
  return {
    tenantId: request.tenantId,
    audit: [draft('ContentAccessed', { tenantId: request.tenantId, requestId: request.id, details: { n } })],
    requireApproved: { requestId: request.id, now }
  }
}

async function refusedWith (t: Test, commit: Promise<unknown>, requestId: string, status: string | null, message: string): Promise<void> {
  try {
    await commit
    t.fail(`${message}: committed`)
  } catch (err) {
    t.ok(err instanceof GrantEndedError, `${message}: GrantEndedError`)
    t.match(err, { requestId, status }, message)
  }
}

export function enforcementContract (t: Test, open: OpenStores): void {
  t.test('commits a guarded change while its grant is Approved and inside its window', async (t) => {
    const stores = await openFor(t, open)
    const request = await approved(stores)
    const [record] = await stores.lockbox.commit(access(request, APPROVED_AT + 1)) as [AuditRecord]
    t.match(record, { operation: 'ContentAccessed', requestId: request.id })
    const last = await stores.lockbox.commit(access(request, APPROVED_AT + HOUR - 1))
    t.equal(last.length, 1, 'the last millisecond of the window still counts')
  })

  t.test('refuses a guarded change whose grant ended, and writes nothing of it', async (t) => {
    const stores = await openFor(t, open)
    const revoked = await advance(stores, await approved(stores), 'Revoke', APPROVED_AT + MINUTE)
    const completed = await advance(stores, await approved(stores), 'Cancel', APPROVED_AT + MINUTE, { id: 'eng-1', role: 'SupportEngineer' })
    const canceled = await advance(stores, await storeRequest(stores, newRequest()), 'Cancel', T0 + MINUTE, { id: 'eng-1', role: 'SupportEngineer' })
    const awaiting = await advance(stores, await storeRequest(stores, newRequest()), 'ManagerApprove', T0 + MINUTE)
    const live = await approved(stores)
    const elsewhere = await approved(stores, { tenantId: 'fabrikam' })
    const head = await stores.audit.head('contoso')
    const notification = { value: newNotification({ requestId: live.id }), expectedVersion: 0 }

    await refusedWith(t, stores.lockbox.commit(access(revoked, APPROVED_AT + 2 * MINUTE)), revoked.id, 'Revoked', 'revoked')
    await refusedWith(t, stores.lockbox.commit(access(completed, APPROVED_AT + 2 * MINUTE)), completed.id, 'Completed', 'canceled while approved')
    await refusedWith(t, stores.lockbox.commit(access(canceled, T0 + 2 * MINUTE)), canceled.id, 'Canceled', 'canceled before approval')
    await refusedWith(t, stores.lockbox.commit(access(awaiting, T0 + 2 * MINUTE)), awaiting.id, 'AwaitingCustomerApproval', 'not yet approved')
    await refusedWith(t, stores.lockbox.commit(access(live, APPROVED_AT + HOUR)), live.id, 'Completed', 'window over, not yet swept')
    await refusedWith(t, stores.lockbox.commit({ ...access(live, APPROVED_AT + 1), requireApproved: { requestId: 'no-such-request', now: APPROVED_AT + 1 } }), 'no-such-request', null, 'unknown')
    await refusedWith(t, stores.lockbox.commit({ ...access(live, APPROVED_AT + 1), requireApproved: { requestId: elsewhere.id, now: APPROVED_AT + 1 } }), elsewhere.id, null, "another tenant's grant")
    await refusedWith(t, stores.lockbox.commit({ ...access(live, APPROVED_AT + HOUR), notifications: [notification] }), live.id, 'Completed', 'with entities')

    t.same(await stores.audit.head('contoso'), head, 'the chain head did not move')
    t.same((await stores.audit.query({ tenantId: 'contoso', operations: ['ContentAccessed'], limit: 10 })).items, [])
    t.same(await stores.lockbox.listNotifications({ limit: 10 }), [], 'no entity of a refused change was written')
  })

  t.test('a refused change in a batch does not fail the others committed with it', async (t) => {
    const stores = await openFor(t, open)
    const live = await approved(stores)
    const revoked = await advance(stores, await approved(stores), 'Revoke', APPROVED_AT + MINUTE)
    const now = APPROVED_AT + 2 * MINUTE
    // Handed in together, so that a backend with group commit puts them in one batch.
    const outcomes = await Promise.allSettled([
      stores.lockbox.commit(access(live, now, 1)),
      stores.lockbox.commit(access(revoked, now, 2)),
      stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessCompleted', { requestId: revoked.id })] }),
      stores.lockbox.commit(access(live, now, 3)),
      stores.lockbox.commit(access(revoked, now, 4))
    ])
    t.same(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected'])
    const records = (await stores.audit.query({ tenantId: 'contoso', operations: ['ContentAccessed', 'ContentAccessCompleted'], limit: 10 })).items
    t.same(records.map((record) => [record.operation, record.details.n ?? null]), [['ContentAccessed', 1], ['ContentAccessCompleted', null], ['ContentAccessed', 3]])
    t.ok((await stores.audit.verify('contoso')).valid)
  })

  t.test('sees a revoke committed in the same batch before a guarded change', async (t) => {
    const stores = await openFor(t, open)
    const request = await approved(stores)
    const now = APPROVED_AT + MINUTE
    const revoke = next(request, 'Revoke', now)
    const outcomes = await Promise.allSettled([
      stores.lockbox.commit(access(request, now, 1)),
      stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: revoke.request, expectedVersion: request.version }], audit: [draft(revoke.operation, { requestId: request.id })] }),
      stores.lockbox.commit(access(request, now, 2))
    ])
    t.same(outcomes.map((outcome) => outcome.status), ['fulfilled', 'fulfilled', 'rejected'])
  })

  t.test('no guarded record racing a revoke lands after it in the chain', async (t) => {
    const stores = await openFor(t, open)
    for (let round = 0; round < 3; round++) {
      const request = await approved(stores)
      const now = APPROVED_AT + MINUTE
      const revoke = next(request, 'Revoke', now)
      const accesses = Array.from({ length: 60 }, (_, n) => stores.lockbox.commit(access(request, now, n)))
      const revoked = stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: revoke.request, expectedVersion: request.version }], audit: [draft(revoke.operation, { requestId: request.id })] })
      const later = Array.from({ length: 60 }, (_, n) => stores.lockbox.commit(access(request, now, 60 + n)))
      const [outcomes, [revokeRecord]] = await Promise.all([Promise.allSettled([...accesses, ...later]), revoked as Promise<[AuditRecord]>])
      const admitted = outcomes.flatMap((outcome) => outcome.status === 'fulfilled' ? outcome.value : [])
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected')
      t.ok(refused.every((outcome) => outcome.reason instanceof GrantEndedError), `round ${round}: refusals are GrantEndedError`)
      t.equal(admitted.length + refused.length, 120)
      t.ok(admitted.every((record) => record.seq < revokeRecord.seq), `round ${round}: ${admitted.length} admitted, all before the revoke`)
      const stored = (await stores.audit.query({ requestId: request.id, operations: ['ContentAccessed'], limit: 200 })).items
      t.equal(stored.length, admitted.length)
      t.ok(stored.every((record) => record.seq < revokeRecord.seq))
    }
  })
}
