// The audit part of the store contract: per-tenant chains, filters, paging and export.
import { setTimeout as sleep } from 'node:timers/promises'
import { EMPTY_HEAD, GENESIS_HASH, type AuditRecord } from '../../src/domain/audit.js'
import type { AuditQuery, Change, Stores } from '../../src/stores/types.js'
import { allPages, draft, newRequest, openFor, type OpenStores, type Test } from './contract-fixtures.js'

type AuditFilter = Omit<AuditQuery, 'limit' | 'cursor'>

interface Seeded { all: AuditRecord[], filters: AuditFilter[], requestA: string }

function matches (record: AuditRecord, filter: AuditFilter): boolean {
  const time = Date.parse(record.time)
  return (filter.tenantId === undefined || record.tenantId === filter.tenantId) &&
    (filter.tenantIds === undefined || filter.tenantIds.includes(record.tenantId)) &&
    (filter.requestId === undefined || record.requestId === filter.requestId) &&
    (filter.operations === undefined || filter.operations.includes(record.operation)) &&
    (filter.actorId === undefined || record.actor.id === filter.actorId) &&
    (filter.from === undefined || time >= filter.from) &&
    (filter.to === undefined || time < filter.to)
}

/** Ten records over two tenants, committed a few milliseconds apart so that time filters bite. */
async function seed (stores: Stores): Promise<Seeded> {
  const a = newRequest()
  const b = newRequest({ tenantId: 'fabrikam', requester: 'eng-2' })
  const changes: Change[] = [
    { tenantId: 'contoso', requests: [{ value: a, expectedVersion: 0 }], audit: [draft('LockboxRequestCreated', { requestId: a.id })] },
    { tenantId: 'fabrikam', requests: [{ value: b, expectedVersion: 0 }], audit: [draft('LockboxRequestCreated', { tenantId: 'fabrikam', requestId: b.id, actorId: 'eng-2' })] },
    { tenantId: 'contoso', audit: [draft('LockboxRequestManagerApproved', { requestId: a.id, actorId: 'mgr-1' })] },
    { tenantId: 'fabrikam', audit: [draft('LockboxRequestManagerRejected', { tenantId: 'fabrikam', requestId: b.id, actorId: 'mgr-1' })] },
    { tenantId: 'contoso', audit: [draft('LockboxRequestApproved', { requestId: a.id, actorId: 'approver-1' })] },
    { tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: a.id }), draft('ContentAccessCompleted', { requestId: a.id })] },
    { tenantId: 'contoso', audit: [draft('TenantSettingsUpdated', { actorId: 'admin-1' })] },
    { tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: a.id })] },
    { tenantId: 'fabrikam', audit: [draft('TenantSettingsUpdated', { tenantId: 'fabrikam', actorId: 'admin-2' })] }
  ]
  for (const change of changes) {
    await stores.lockbox.commit(change)
    await sleep(3)
  }
  const all = (await stores.audit.query({ limit: 1000 })).items
  const from = Date.parse((all[3] as AuditRecord).time)
  const to = Date.parse((all[7] as AuditRecord).time)
  const filters: AuditFilter[] = [
    {},
    { tenantId: 'contoso' },
    { tenantIds: ['fabrikam'] },
    { tenantIds: [] },
    { tenantIds: ['contoso', 'fabrikam', 'nobody'] },
    { requestId: a.id },
    { requestId: 'nobody' },
    { operations: ['ContentAccessed'] },
    { operations: ['LockboxRequestManagerApproved', 'LockboxRequestManagerRejected'] },
    { actorId: 'mgr-1' },
    { actorId: 'nobody' },
    { from },
    { to },
    { from, to },
    { tenantId: 'contoso', tenantIds: ['fabrikam'] },
    { tenantId: 'contoso', tenantIds: ['contoso'] },
    { requestId: b.id, tenantIds: ['contoso'] },
    { tenantIds: ['fabrikam'], operations: ['TenantSettingsUpdated'] },
    { tenantId: 'contoso', requestId: a.id, operations: ['ContentAccessed', 'LockboxRequestApproved'], actorId: 'eng-1', from, to }
  ]
  return { all, filters, requestA: a.id }
}

export function auditContract (t: Test, open: OpenStores): void {
  t.test('seals each tenant\'s chain from seq 1 and verifies it after many concurrent commits', async (t) => {
    const stores = await openFor(t, open)
    const tenantOf = (index: number): string => (index % 2 === 0 ? 'contoso' : 'fabrikam')
    const sizes = Array.from({ length: 60 }, (_, index) => 1 + (index % 3))
    await Promise.all(sizes.map((size, index) => stores.lockbox.commit({
      tenantId: tenantOf(index),
      audit: Array.from({ length: size }, () => draft('ContentAccessed', { tenantId: tenantOf(index) }))
    })))
    for (const tenantId of ['contoso', 'fabrikam']) {
      const expected = sizes.filter((_, index) => tenantOf(index) === tenantId).reduce((sum, size) => sum + size, 0)
      const { items } = await allPages((cursor) => stores.audit.query({ tenantId, limit: 25, cursor }))
      t.same(items.map((record) => record.seq), Array.from({ length: expected }, (_, index) => index + 1), `${tenantId} seq runs 1..n`)
      t.ok(items.every((record, index) => record.prevHash === (index === 0 ? GENESIS_HASH : items[index - 1]?.hash)), `${tenantId} links`)
      const last = items[items.length - 1] as AuditRecord
      t.same(await stores.audit.verify(tenantId), { valid: true, records: expected, headSeq: expected, headHash: last.hash, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0 })
      t.same(await stores.audit.head(tenantId), { seq: expected, hash: last.hash })
    }
  })

  t.test('refuses a change with a record the log cannot hold with TypeError, and only that change', async (t) => {
    const stores = await openFor(t, open)
    const bad = (tenantId: string, details: Record<string, unknown>): Change => ({ tenantId, audit: [draft('ContentAccessed', { tenantId }), draft('ContentAccessed', { tenantId, details })] })
    const good = (tenantId: string): Change => ({ tenantId, audit: [draft('ContentAccessCompleted', { tenantId })] })
    await t.rejects(stores.lockbox.commit(bad('fabrikam', { callback: () => 1 })), TypeError, 'a tenant\'s first change')
    await stores.lockbox.commit(good('contoso'))
    const outcomes = await Promise.allSettled([good('contoso'), bad('contoso', { ratio: Number.NaN }), good('contoso')].map(async (change) => await stores.lockbox.commit(change)))
    t.same(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled'], 'committed together, refused alone')
    t.type((outcomes[1] as PromiseRejectedResult).reason, TypeError)
    t.match(await stores.audit.verify('contoso'), { valid: true, records: 3, headSeq: 3 })
    t.match(await stores.audit.verify('fabrikam'), { valid: true, records: 0 })
  })

  t.test('reports an empty, valid chain for a tenant without records', async (t) => {
    const stores = await openFor(t, open)
    t.same(await stores.audit.verify('nobody'), { valid: true, records: 0, headSeq: 0, headHash: GENESIS_HASH, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0 })
    t.same(await stores.audit.head('nobody'), EMPTY_HEAD)
    t.same(await stores.audit.query({ limit: 5 }), { items: [], nextCursor: null })
  })

  t.test('returns audit records oldest first, in append order across tenants', async (t) => {
    const stores = await openFor(t, open)
    const { all } = await seed(stores)
    t.same(all.map((record) => `${record.tenantId}:${record.seq}`), [
      'contoso:1', 'fabrikam:1', 'contoso:2', 'fabrikam:2', 'contoso:3', 'contoso:4', 'contoso:5', 'contoso:6', 'contoso:7', 'fabrikam:3'
    ])
    t.ok(all.every((record, index) => index === 0 || Date.parse(record.time) >= Date.parse((all[index - 1] as AuditRecord).time)))
  })

  t.test('filters audit records by each field alone and combined', async (t) => {
    const stores = await openFor(t, open)
    const { all, filters, requestA } = await seed(stores)
    for (const filter of filters) {
      const { items, nextCursor } = await stores.audit.query({ ...filter, limit: 1000 })
      t.same(items, all.filter((record) => matches(record, filter)), JSON.stringify(filter))
      t.equal(nextCursor, null)
    }
    // The expectations above come from `matches`; pin a few down so that a wrong `matches` cannot hide.
    const count = async (filter: AuditFilter): Promise<number> => (await stores.audit.query({ ...filter, limit: 1000 })).items.length
    t.equal(await count({ tenantId: 'contoso' }), 7)
    t.equal(await count({ requestId: requestA }), 6)
    t.equal(await count({ tenantIds: [] }), 0)
    t.equal(await count({ tenantId: 'contoso', tenantIds: ['fabrikam'] }), 0)
    const combined = (await stores.audit.query({ ...filters[filters.length - 1], limit: 1000 })).items
    t.same(combined, [all[5]], 'only the first content access falls in the window')
  })

  t.test('pages through audit records without gaps or repeats', async (t) => {
    const stores = await openFor(t, open)
    const { all, filters } = await seed(stores)
    for (const filter of filters) {
      const { items } = await allPages((cursor) => stores.audit.query({ ...filter, limit: 2, cursor }))
      t.same(items, all.filter((record) => matches(record, filter)), JSON.stringify(filter))
    }
    t.equal((await stores.audit.query({ limit: all.length })).nextCursor, null, 'no cursor when the last page is exactly full')
  })

  t.test('exports exactly the records that paging through query returns', async (t) => {
    const stores = await openFor(t, open)
    const { filters } = await seed(stores)
    for (const filter of filters) {
      const exported: AuditRecord[] = []
      for await (const record of stores.audit.export(filter)) exported.push(record)
      const { items } = await allPages((cursor) => stores.audit.query({ ...filter, limit: 3, cursor }))
      t.same(exported, items, JSON.stringify(filter))
    }
  })

  t.test('exports as NDJSON the records export gives, one JSON text per line', async (t) => {
    const stores = await openFor(t, open)
    const { filters } = await seed(stores)
    for (const filter of [...filters, { tenantIds: [] }]) {
      const exported: AuditRecord[] = []
      for await (const record of stores.audit.export(filter)) exported.push(record)
      const text = async (map?: (record: AuditRecord) => unknown): Promise<string> => {
        let out = ''
        for await (const chunk of stores.audit.exportNdjson(filter, map)) out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
        return out
      }
      t.same(await text(), exported.map((record) => JSON.stringify(record) + '\n').join(''), JSON.stringify(filter))
      const brief = (record: AuditRecord): unknown => ({ n: record.seq, who: `${record.actor.id} ✓` })
      t.same(await text(brief), exported.map((record) => JSON.stringify(brief(record)) + '\n').join(''), `mapped: ${JSON.stringify(filter)}`)
    }
  })

  t.test('exports a log of several 64 KiB chunks as NDJSON, whole and in order, in more than one chunk', async (t) => {
    const stores = await openFor(t, open)
    const note = 'n'.repeat(600)
    for (let batch = 0; batch < 4; batch++) {
      await stores.lockbox.commit({ tenantId: 'contoso', audit: Array.from({ length: 50 }, (_, i) => draft('ContentAccessed', { details: { i: batch * 50 + i, note } })) })
    }
    const exported: AuditRecord[] = []
    for await (const record of stores.audit.export({ tenantId: 'contoso' })) exported.push(record)
    t.equal(exported.length, 200)
    for (const map of [undefined, (record: AuditRecord): unknown => ({ seq: record.seq, i: record.details.i, note })]) {
      const chunks: string[] = []
      for await (const chunk of stores.audit.exportNdjson({ tenantId: 'contoso' }, map)) chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      t.ok(chunks.length > 1, `${chunks.length} chunks, not the whole export at once`)
      t.same(chunks.join(''), exported.map((record) => JSON.stringify(map === undefined ? record : map(record)) + '\n').join(''))
    }
  })
}
