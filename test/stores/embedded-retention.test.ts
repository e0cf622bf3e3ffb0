// Retention in the embedded store: deletion in small transactions, anchors and cursors across a restart, and what runs meanwhile.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuditRecord } from '../../src/domain/audit.js'
import type { OutboxMessage } from '../../src/notify/types.js'
import { StoreUnavailableError } from '../../src/errors.js'
import { openEmbeddedStores, type EmbeddedStores } from '../../src/stores/embedded/index.js'
import type { Change, Stores } from '../../src/stores/types.js'
import { advance, allPages, draft, HOUR, MINUTE, newNotification, newRequest, newServiceRequest, storeRequest, T0, type Test } from './contract-fixtures.js'

const root = await mkdtemp(join(tmpdir(), 'lockbox-retention-'))
t.teardown(() => rm(root, { recursive: true, force: true }))
let dirs = 0
const freshDir = (): string => join(root, `store-${++dirs}`)

/** A store whose clock the test sets: every record's time is known. */
async function openAt (t: Test, dataDir: string, clock: { now: number }): Promise<EmbeddedStores> {
  const stores = await openEmbeddedStores({ dataDir, now: () => clock.now })
  t.teardown(() => stores.close())
  return stores
}

const contentAccess = (size: number, tenantId = 'contoso', pad = 0): Change => ({
  tenantId,
  audit: Array.from({ length: size }, (_, index) => draft('ContentAccessed', { tenantId, details: { index, path: '/sites/finance/'.padEnd(pad, 'x') } }))
})

/** Everything a client can read back, cursors included, for before/after comparisons. */
async function readBack (stores: Stores): Promise<unknown> {
  return {
    requests: (await allPages((cursor) => stores.lockbox.listRequests({ now: T0, limit: 2, cursor }))).items,
    unsettled: (await stores.lockbox.listUnsettledRequests()).map((request) => request.id).sort(),
    serviceRequests: (await stores.lockbox.listServiceRequests('contoso', { limit: 100 })).items,
    settings: await stores.lockbox.getTenantSettings('contoso'),
    notifications: await stores.lockbox.listNotifications({ limit: 100 }),
    notificationsOfStatus: [await stores.lockbox.listNotifications({ status: 'pending', limit: 100 }), await stores.lockbox.listNotifications({ status: 'sent', limit: 100 })],
    due: await stores.lockbox.listDueNotifications(T0 + HOUR, 100),
    pages: await stores.audit.query({ limit: 2 }),
    audit: (await stores.audit.query({ limit: 1000 })).items,
    heads: [await stores.audit.head('contoso'), await stores.audit.head('fabrikam')],
    chains: [await stores.audit.verify('contoso'), await stores.audit.verify('fabrikam')]
  }
}

t.test('restarts after a prune with the same entities, records, anchors and cursors', async (t) => {
  const dataDir = freshDir()
  const clock = { now: T0 }
  let stores = await openEmbeddedStores({ dataDir, now: () => clock.now })
  await stores.lockbox.commit({
    tenantId: 'contoso',
    serviceRequests: [{ value: newServiceRequest('100001'), expectedVersion: 0 }],
    tenantSettings: { value: { tenantId: 'contoso', lockboxEnabled: true, approverEmails: ['it@contoso.com'], version: 0 }, expectedVersion: 0 },
    audit: [draft('ServiceRequestOpened'), draft('TenantSettingsUpdated')]
  })
  const approved = await advance(stores, await advance(stores, await storeRequest(stores, newRequest()), 'ManagerApprove', T0 + MINUTE), 'CustomerApprove', T0 + 2 * MINUTE)
  await storeRequest(stores, newRequest({ tenantId: 'fabrikam' }))
  // Notifications with the commits that are pruned: the outbox outlives the audit records of its cause.
  const notices = [newNotification({ requestId: approved.id }), newNotification({ requestId: approved.id, at: T0 + MINUTE }), newNotification({ tenantId: 'fabrikam', at: T0 + 2 * MINUTE })]
  await stores.lockbox.commit({ tenantId: 'contoso', notifications: notices.slice(0, 2).map((value) => ({ value, expectedVersion: 0 })), audit: [draft('ApproversNotified', { requestId: approved.id })] })
  await stores.lockbox.commit({ tenantId: 'fabrikam', notifications: [{ value: notices[2] as OutboxMessage, expectedVersion: 0 }], audit: [] })
  await stores.lockbox.commit({ tenantId: 'contoso', notifications: [{ value: { ...notices[0] as OutboxMessage, status: 'sent', attempts: 1 }, expectedVersion: 1 }], audit: [] })
  clock.now = T0 + 10 * MINUTE
  await stores.lockbox.commit(contentAccess(3))
  await stores.lockbox.commit(contentAccess(1, 'fabrikam'))
  const statsBefore = stores.stats

  t.equal(await stores.audit.prune(T0 + 10 * MINUTE), 7)
  t.ok(stores.stats.lines >= statsBefore.lines, 'the counters carry on')
  const before = await readBack(stores)
  t.match(before, { notifications: [{ id: notices[2]?.id, version: 1 }, { id: notices[1]?.id, version: 1 }, { id: notices[0]?.id, status: 'sent', version: 2 }] }, 'retention keeps every notification')
  await stores.close()

  stores = await openAt(t, dataDir, clock)
  t.same(await readBack(stores), before)
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', notifications: [{ value: notices[0] as OutboxMessage, expectedVersion: 1 }], audit: [] }), { name: 'ConflictError' }, 'with its version')
  t.match(await stores.audit.verify('contoso'), { valid: true, records: 3, headSeq: 9, anchorSeq: 6 })
  t.match(await advance(stores, approved, 'Revoke', T0 + 11 * MINUTE), { status: 'Revoked', version: approved.version + 1 }, 'versions came through')
  clock.now = T0
  const [record] = await stores.lockbox.commit(contentAccess(1)) as [AuditRecord]
  t.equal(record.time, new Date(T0 + 10 * MINUTE).toISOString(), 'audit time never goes back, even past a restart')
  t.equal(record.seq, 11)
})

t.test('keeps cursors taken before a prune valid, after it and after a restart', async (t) => {
  const dataDir = freshDir()
  const clock = { now: T0 }
  let stores = await openEmbeddedStores({ dataDir, now: () => clock.now })
  for (let minute = 0; minute < 6; minute++) {
    clock.now = T0 + minute * MINUTE
    await stores.lockbox.commit(contentAccess(2))
  }
  await stores.lockbox.commit(contentAccess(1, 'fabrikam'))
  const early = (await stores.audit.query({ tenantId: 'contoso', limit: 2 })).nextCursor as string
  const late = (await stores.audit.query({ tenantId: 'contoso', limit: 7 })).nextCursor as string
  const seqsFrom = async (cursor: string): Promise<number[]> =>
    (await allPages((next) => stores.audit.query({ tenantId: 'contoso', limit: 3, cursor: next ?? cursor }))).items.map((record) => record.seq)

  t.equal(await stores.audit.prune(T0 + 3 * MINUTE), 6)
  t.same(await seqsFrom(late), [8, 9, 10, 11, 12], 'a cursor into the kept records goes on where it was')
  t.same(await seqsFrom(early), [7, 8, 9, 10, 11, 12], 'one into the pruned ones goes on from the first kept record')
  t.notOk('anchorSeq' in await stores.audit.verify('fabrikam'), 'a tenant that lost nothing has no anchor')
  await stores.close()
  stores = await openAt(t, dataDir, clock)
  t.same(await seqsFrom(late), [8, 9, 10, 11, 12], 'positions survive a restart')
  const window = await stores.audit.query({ tenantId: 'contoso', from: T0 + 4 * MINUTE, to: T0 + 5 * MINUTE, limit: 10 })
  t.same(window.items.map((record) => record.seq), [9, 10], 'time ranges still find their records')
})

t.test('loses none of the commits that arrive during a prune', async (t) => {
  const dataDir = freshDir()
  const clock = { now: T0 }
  let stores = await openEmbeddedStores({ dataDir, now: () => clock.now })
  // Many transactions' worth of pruned records, so that commits get between them.
  await stores.lockbox.commit(contentAccess(2000, 'contoso', 400))
  await stores.lockbox.commit(contentAccess(1000, 'fabrikam', 400))
  clock.now = T0 + MINUTE
  await stores.lockbox.commit(contentAccess(4000, 'contoso', 400))

  const compaction = { done: false }
  const acknowledged: AuditRecord[] = []
  async function keepCommitting (tenantId: string): Promise<void> {
    do acknowledged.push(...await stores.lockbox.commit(contentAccess(1, tenantId)))
    while (!compaction.done)
  }
  const writers = Array.from({ length: 8 }, (_, index) => keepCommitting(index % 2 === 0 ? 'contoso' : 'fabrikam'))
  const count = await stores.audit.prune(T0 + MINUTE)
  compaction.done = true
  await Promise.all(writers)
  t.equal(count, 3000)
  t.ok(acknowledged.length > 8, `${acknowledged.length} commits went on meanwhile`)

  const check = async (): Promise<void> => {
    const ids = new Set<string>()
    for await (const record of stores.audit.export({})) ids.add(record.id)
    t.equal(ids.size, 4000 + acknowledged.length)
    t.same(acknowledged.filter((record) => !ids.has(record.id)), [], 'every acknowledged record is there')
    t.match(await stores.audit.verify('contoso'), { valid: true, anchorSeq: 2000 })
    t.match(await stores.audit.verify('fabrikam'), { valid: true, records: acknowledged.filter((record) => record.tenantId === 'fabrikam').length, anchorSeq: 1000 })
  }
  await check()
  await stores.close()
  stores = await openAt(t, dataDir, clock)
  await check()
})

t.test('continues a chain pruned to nothing from its anchor after a restart', async (t) => {
  const dataDir = freshDir()
  const clock = { now: T0 }
  let stores = await openEmbeddedStores({ dataDir, now: () => clock.now })
  const sealed = await stores.lockbox.commit(contentAccess(4))
  clock.now = T0 + MINUTE
  t.equal(await stores.audit.prune(T0 + MINUTE), 4)
  await stores.close()
  stores = await openAt(t, dataDir, clock)
  const last = sealed[3] as AuditRecord
  t.same(await stores.audit.head('contoso'), { seq: 4, hash: last.hash })
  t.same(await stores.audit.verify('contoso'), { valid: true, records: 0, headSeq: 4, headHash: last.hash, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0, anchorSeq: 4 })
  t.match(await stores.lockbox.commit(contentAccess(1)), [{ seq: 5, prevHash: last.hash }])
})

t.test('deletes nothing when nothing is old enough', async (t) => {
  const stores = await openAt(t, freshDir(), { now: T0 })
  await stores.lockbox.commit(contentAccess(3))
  t.equal(await stores.audit.prune(T0), 0)
  t.notOk('anchorSeq' in await stores.audit.verify('contoso'))
})

t.test('finishes an export or a chain walk under way across a prune', async (t) => {
  const clock = { now: T0 }
  const stores = await openAt(t, freshDir(), clock)
  await stores.lockbox.commit(contentAccess(1000))
  const exporting = stores.audit.export({ tenantId: 'contoso' })[Symbol.asyncIterator]()
  const walking = stores.audit.verify('contoso')
  const seqs = [((await exporting.next()).value as AuditRecord).seq]
  clock.now = T0 + MINUTE
  t.equal(await stores.audit.prune(T0 + MINUTE), 1000)
  for (let step = await exporting.next(); step.done !== true; step = await exporting.next()) seqs.push(step.value.seq)
  t.same(seqs, Array.from({ length: 1000 }, (_, index) => index + 1), 'the export gives the records there were when it began')
  t.match(await walking, { valid: true, records: 1000 })
  t.same(await stores.audit.query({ limit: 5 }), { items: [], nextCursor: null })
})

t.test('stops a prune when the store closes, leaving a whole chain', async (t) => {
  const dataDir = freshDir()
  const clock = { now: T0 }
  let stores = await openEmbeddedStores({ dataDir, now: () => clock.now })
  await stores.lockbox.commit(contentAccess(3000))
  clock.now = T0 + MINUTE
  const pruning = stores.audit.prune(T0 + MINUTE)
  const closing = stores.close()
  await t.rejects(pruning, StoreUnavailableError)
  await closing
  t.equal(await stores.ping(), false)
  stores = await openAt(t, dataDir, clock)
  const walk = await stores.audit.verify('contoso')
  t.match(walk, { valid: true, headSeq: 3000 })
  t.ok(walk.records < 3000 && walk.records + (walk.anchorSeq ?? 0) === 3000, `stopped after ${walk.anchorSeq ?? 0} records, between two transactions`)
})
