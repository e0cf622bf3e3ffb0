// The retention and subscription part of the store contract: prune with per-tenant anchors, and the
// feed of durable batches behind the live stream. Record times come from the backend's own clock, so
// cut-offs are taken from the records themselves, and deliveries are awaited by polling.
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuditRecord } from '../../src/domain/audit.js'
import { ConflictError } from '../../src/errors.js'
import type { Change, Stores } from '../../src/stores/types.js'
import { draft, newRequest, openFor, type OpenStores, type Test } from './contract-fixtures.js'
import { eventually } from '../helpers/eventually.js'

/** Commits each change a few milliseconds after the one before, so that every commit has its own time. */
async function commitSpaced (stores: Stores, changes: Change[]): Promise<AuditRecord[][]> {
  const sealed: AuditRecord[][] = []
  for (const change of changes) {
    sealed.push(await stores.lockbox.commit(change))
    await sleep(3)
  }
  return sealed
}

async function exported (stores: Stores, filter: Parameters<Stores['audit']['export']>[0] = {}): Promise<AuditRecord[]> {
  const records: AuditRecord[] = []
  for await (const record of stores.audit.export(filter)) records.push(record)
  return records
}

const timeOf = (record: AuditRecord | undefined): number => Date.parse((record as AuditRecord).time)

export function retentionContract (t: Test, open: OpenStores): void {
  t.test('prunes the records before a time in every tenant and keeps each chain whole from its anchor', async (t) => {
    const stores = await openFor(t, open)
    const a = newRequest()
    const b = newRequest({ tenantId: 'fabrikam', requester: 'eng-2' })
    await commitSpaced(stores, [
      { tenantId: 'contoso', requests: [{ value: a, expectedVersion: 0 }], audit: [draft('LockboxRequestCreated', { requestId: a.id })] },
      { tenantId: 'fabrikam', requests: [{ value: b, expectedVersion: 0 }], audit: [draft('LockboxRequestCreated', { tenantId: 'fabrikam', requestId: b.id })] },
      { tenantId: 'contoso', audit: [draft('LockboxRequestManagerApproved', { requestId: a.id, actorId: 'mgr-1' })] },
      { tenantId: 'fabrikam', audit: [draft('LockboxRequestManagerRejected', { tenantId: 'fabrikam', requestId: b.id, actorId: 'mgr-1' })] },
      { tenantId: 'contoso', audit: [draft('LockboxRequestApproved', { requestId: a.id, actorId: 'approver-1' })] },
      { tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: a.id }), draft('ContentAccessCompleted', { requestId: a.id })] }
    ])
    const all = (await stores.audit.query({ limit: 100 })).items
    const [, , contoso2, fabrikam2, kept] = all as [AuditRecord, AuditRecord, AuditRecord, AuditRecord, AuditRecord]
    const last = all[all.length - 1] as AuditRecord
    t.ok(timeOf(fabrikam2) < timeOf(kept), 'the cut falls between two commits')

    t.equal(await stores.audit.prune(timeOf(kept)), 4)
    t.same((await stores.audit.query({ limit: 100 })).items, all.slice(4), 'query finds only the kept records')
    t.same(await exported(stores), all.slice(4), 'so does export')
    t.same(await exported(stores, { tenantId: 'fabrikam' }), [])
    t.same((await stores.audit.query({ requestId: b.id, limit: 100 })).items, [], 'the request id index forgets pruned records')
    t.same((await stores.audit.query({ requestId: a.id, limit: 100 })).items.map((record) => record.seq), [3, 4, 5])
    t.same((await stores.audit.query({ actorId: 'mgr-1', limit: 100 })).items, [])

    t.same(await stores.audit.verify('contoso'), { valid: true, records: 3, headSeq: 5, headHash: last.hash, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0, anchorSeq: 2 })
    t.same(await stores.audit.head('contoso'), { seq: 5, hash: last.hash })
    t.same(await stores.audit.verify('fabrikam'), { valid: true, records: 0, headSeq: 2, headHash: fabrikam2.hash, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0, anchorSeq: 2 },
      'a tenant with nothing left is still anchored')
    t.same(await stores.audit.head('fabrikam'), { seq: 2, hash: fabrikam2.hash })

    const [next] = await stores.lockbox.commit({ tenantId: 'fabrikam', audit: [draft('TenantSettingsUpdated', { tenantId: 'fabrikam' })] }) as [AuditRecord]
    t.match(next, { seq: 3, prevHash: fabrikam2.hash }, 'its chain continues from the anchor, not from 1')
    t.same(await stores.audit.verify('fabrikam'), { valid: true, records: 1, headSeq: 3, headHash: next.hash, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0, anchorSeq: 2 })
    const [after] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: a.id })] }) as [AuditRecord]
    t.match(after, { seq: 6, prevHash: last.hash })

    t.equal(await stores.audit.prune(timeOf(kept)), 0, 'pruning again at the same time deletes nothing')
    t.equal(await stores.audit.prune(timeOf(contoso2)), 0, 'nor does an earlier time')
    t.match(await stores.audit.verify('contoso'), { valid: true, records: 4, anchorSeq: 2 })
    t.same(await stores.audit.verify('nobody'), { valid: true, records: 0, headSeq: 0, headHash: '0'.repeat(64), firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0 }, 'no anchor where nothing was pruned')
  })

  t.test('moves each anchor on with every prune, down to pruning everything', async (t) => {
    const stores = await openFor(t, open)
    const batch = (size: number): Change => ({ tenantId: 'contoso', audit: Array.from({ length: size }, () => draft('ContentAccessed')) })
    const [first, second, third] = await commitSpaced(stores, [batch(3), batch(2), batch(4)]) as [AuditRecord[], AuditRecord[], AuditRecord[]]
    t.equal(await stores.audit.prune(timeOf(first[0]) - 1), 0, 'nothing is older than the first record')

    t.equal(await stores.audit.prune(timeOf(second[0])), 3)
    t.match(await stores.audit.verify('contoso'), { valid: true, records: 6, headSeq: 9, anchorSeq: 3 })
    t.equal(await stores.audit.prune(timeOf(third[0])), 2)
    t.match(await stores.audit.verify('contoso'), { valid: true, records: 4, headSeq: 9, anchorSeq: 5 })

    const lastRecord = third[3] as AuditRecord
    t.equal(await stores.audit.prune(timeOf(lastRecord) + 1), 4)
    t.same((await stores.audit.query({ limit: 100 })).items, [])
    t.same(await stores.audit.verify('contoso'), { valid: true, records: 0, headSeq: 9, headHash: lastRecord.hash, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0, anchorSeq: 9 })
    const [next] = await stores.lockbox.commit(batch(1)) as [AuditRecord]
    t.match(next, { seq: 10, prevHash: lastRecord.hash })
    t.same((await stores.audit.query({ limit: 100 })).items, [next])
    t.match(await stores.audit.verify('contoso'), { valid: true, records: 1, headSeq: 10, anchorSeq: 9 })
  })

  t.test('delivers each committed batch to every subscriber once, in commit order, until it unsubscribes', async (t) => {
    const stores = await openFor(t, open)
    const early: AuditRecord[][] = []
    const late: AuditRecord[][] = []
    const unsubscribeEarly = stores.audit.subscribe((records) => early.push(records))
    t.teardown(stores.audit.subscribe((records) => late.push(records)))
    const request = newRequest()
    const committed = await commitSpaced(stores, [
      { tenantId: 'contoso', requests: [{ value: request, expectedVersion: 0 }], audit: [draft('LockboxRequestCreated', { requestId: request.id })] },
      { tenantId: 'fabrikam', audit: [draft('TenantSettingsUpdated', { tenantId: 'fabrikam' })] },
      { tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: request.id }), draft('ContentAccessCompleted', { requestId: request.id })] }
    ])
    await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: request, expectedVersion: 0 }], audit: [draft('LockboxRequestCreated')] }), ConflictError)
    await eventually('early.length >= 3 && late.length >= 3', () => early.length >= 3 && late.length >= 3)
    t.same(early, committed, 'the batches as committed, and nothing of the refused commit')
    t.same(late, committed)

    unsubscribeEarly()
    const more = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
    await eventually('late.length >= 4', () => late.length >= 4)
    t.same(late[3], more)
    // A marker committed after: once the listener has it, anything owed before it has arrived.
    const [marker] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessCompleted')] }) as [AuditRecord]
    await eventually('the marker', () => late.flat().some((record) => record.id === marker.id))
    t.equal(early.length, 3, 'nothing after unsubscribing')
    t.equal(late.length, 5, 'and nothing twice')
  })

  t.test('delivers concurrent commits in each chain\'s order, each record once', async (t) => {
    const stores = await openFor(t, open)
    const delivered: AuditRecord[] = []
    t.teardown(stores.audit.subscribe((records) => delivered.push(...records)))
    const tenantOf = (index: number): string => (index % 2 === 0 ? 'contoso' : 'fabrikam')
    await Promise.all(Array.from({ length: 30 }, (_, index) => stores.lockbox.commit({
      tenantId: tenantOf(index),
      audit: Array.from({ length: 1 + (index % 2) }, () => draft('ContentAccessed', { tenantId: tenantOf(index) }))
    })))
    await eventually('delivered.length >= 45', () => delivered.length >= 45)
    for (const [tenantId, count] of [['contoso', 15], ['fabrikam', 30]] as const) {
      t.same(delivered.filter((record) => record.tenantId === tenantId).map((record) => record.seq), Array.from({ length: count }, (_, index) => index + 1), tenantId)
    }
    // A marker committed after the rest: once it has arrived, a record delivered twice would have too.
    const [marker] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessCompleted')] }) as [AuditRecord]
    await eventually('the marker', () => delivered.some((record) => record.id === marker.id))
    t.equal(delivered.length, 46)
  })
}
