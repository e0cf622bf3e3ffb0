// Records appended together are committed together, per tenant, on a real embedded store; each
// caller hears back with its own record's fate.
import t, { type Test } from 'tap'
import type { AuditDraft } from '../../src/domain/audit.js'
import { MAX_BATCH, RecordBatcher } from '../../src/gateway/record-batcher.js'
import { openEmbeddedStores, type EmbeddedStores } from '../../src/stores/embedded/index.js'
import type { Change } from '../../src/stores/types.js'
import { createRequest, type LockboxRequest } from '../../src/domain/lockbox.js'
import { tempDir } from '../helpers/config.js'

function draft (tenantId: string, index: number): AuditDraft {
  return {
    tenantId,
    operation: 'ContentAccessed',
    result: 'Success',
    actor: { id: 'eng-ada', type: 'SupportEngineer' },
    clientIp: '127.0.0.1',
    requestId: 'request-1',
    workload: 'exchange',
    object: `/${tenantId}/mailboxes/alice/messages/${index}`,
    details: { index }
  }
}

async function storeFor (t: Test): Promise<{ stores: EmbeddedStores, changes: Change[], batcher: RecordBatcher }> {
  const dir = tempDir()
  const stores = await openEmbeddedStores({ dataDir: dir.path })
  t.teardown(async () => {
    await stores.close()
    dir.remove()
  })
  const changes: Change[] = []
  const batcher = new RecordBatcher(async (change) => {
    changes.push(change)
    return await stores.lockbox.commit(change)
  })
  return { stores, changes, batcher }
}

t.test('commits the records of one turn in one change per tenant, in the order appended', async (t) => {
  const { stores, changes, batcher } = await storeFor(t)
  await Promise.all([draft('contoso', 1), draft('fabrikam', 1), draft('contoso', 2)].map(async (d) => { await batcher.append(d) }))
  t.same(changes.map((change) => [change.tenantId, change.audit.length]), [['contoso', 2], ['fabrikam', 1]])
  const { items } = await stores.audit.query({ tenantId: 'contoso', limit: 10 })
  t.same(items.map((record) => [record.seq, record.details.index]), [[1, 1], [2, 2]])
  await batcher.append(draft('contoso', 3))
  t.equal(changes.length, 3, 'a later turn makes a new change')
})

t.test('splits a burst larger than one change may carry', async (t) => {
  const { stores, changes, batcher } = await storeFor(t)
  const count = MAX_BATCH + 10
  await Promise.all(Array.from({ length: count }, async (_, i) => { await batcher.append(draft('contoso', i)) }))
  t.same(changes.map((change) => change.audit.length), [MAX_BATCH, 10])
  t.equal((await stores.audit.head('contoso')).seq, count)
})

t.test('fails every record of a change the store refuses, and only those', async (t) => {
  const { stores, batcher } = await storeFor(t)
  await stores.close()
  const results = await Promise.allSettled([batcher.append(draft('contoso', 1)), batcher.append(draft('contoso', 2))])
  t.same(results.map((result) => result.status), ['rejected', 'rejected'])
  t.match((results[0] as PromiseRejectedResult).reason, { name: 'StoreUnavailableError' })
})

t.test('drain sends what waits and settles once everything sent has', async (t) => {
  const { stores, batcher } = await storeFor(t)
  const appended = batcher.append(draft('contoso', 1))
  await batcher.drain()
  t.equal((await stores.audit.head('contoso')).seq, 1, 'durable once drain resolves')
  await appended
  await batcher.drain()
  t.pass('draining with nothing waiting resolves')
})

t.test('batches guarded records per grant, so a grant that ended refuses only its own', async (t) => {
  const { stores, changes, batcher } = await storeFor(t)
  const T = Date.parse('2025-06-02T08:00:00.000Z')
  const approved = (id: string, status: 'Approved' | 'Revoked'): LockboxRequest => ({
    ...createRequest({ id, tenantId: 'contoso', serviceRequestNumber: '100001', workload: 'exchange', scope: '/mailboxes/alice', accessLevel: 'read', duration: 'PT1H', durationMs: 3_600_000, justification: 'x', requester: { id: 'eng-ada', name: 'Ada' } }, { now: T, pendingTtlMs: 60_000 }),
    status,
    accessStartsAt: new Date(T).toISOString(),
    accessEndsAt: new Date(T + 3_600_000).toISOString()
  })
  await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: approved('live', 'Approved'), expectedVersion: 0 }, { value: approved('ended', 'Revoked'), expectedVersion: 0 }], audit: [] })
  const guarded = (requestId: string, index: number, now: number): Promise<void> =>
    batcher.append({ ...draft('contoso', index), requestId }, { requestId, now })
  const results = await Promise.allSettled([
    guarded('live', 1, T + 1),
    guarded('ended', 2, T + 1),
    batcher.append(draft('contoso', 3)),
    guarded('live', 4, T + 2)
  ])
  t.same(results.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
  t.match((results[1] as PromiseRejectedResult).reason, { name: 'GrantEndedError', requestId: 'ended', status: 'Revoked' })
  t.same(changes.map((change) => [change.audit.length, change.requireApproved ?? null]), [
    [2, { requestId: 'live', now: T + 2 }],
    [1, { requestId: 'ended', now: T + 1 }],
    [1, null]
  ], 'one change per grant, checked at the latest clock of its records; unguarded ones per tenant')
  const refused = await batcher.append({ ...draft('contoso', 5), requestId: 'live' }, { requestId: 'live', now: T + 3_600_000 }).then(() => null, (err: unknown) => err)
  t.match(refused, { name: 'GrantEndedError', status: 'Completed' }, 'the window is judged at the caller\'s clock')
})
