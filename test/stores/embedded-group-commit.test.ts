// The group commit when lmdb refuses a write transaction without running it: lmdb's transaction()
// does that only once its environment is closed (every other failure, a commit or a flush, comes
// after the callback ran). The store itself never gets there (its guard refuses commits once it
// closes), so the group commit is driven directly, on a real lmdb environment closed under it.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AuditLog } from '../../src/stores/embedded/audit-log.js'
import { inTransaction, openTables } from '../../src/stores/embedded/db.js'
import { Entities } from '../../src/stores/embedded/entities.js'
import { GroupCommit } from '../../src/stores/embedded/group-commit.js'
import { openEmbeddedStores } from '../../src/stores/embedded/index.js'
import { draft, newRequest } from './contract-fixtures.js'

t.test('a transaction lmdb refuses before running it fails every change queued for it, and the next change schedules again', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lockbox-group-commit-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

  const tables = openTables(dataDir)
  const entities = new Entities(tables)
  const log = new AuditLog(tables)
  const durable: number[] = []
  const forgotten: number[] = []
  const group = new GroupCommit({
    t: tables,
    entities,
    log,
    now: Date.now,
    transact: async (work) => await inTransaction(tables, work),
    nextOrdinal: () => {
      const ordinal = tables.counters.get('ordinal') ?? 0
      tables.counters.put('ordinal', ordinal + 1)
      return ordinal
    },
    logGrantEvents: () => {},
    appended: { own: () => {}, forget: (start) => { forgotten.push(start) } },
    durable: (start) => { durable.push(start) }
  })
  const [first] = (await group.submit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { details: { n: 0 } })] })).records
  t.match(first, { seq: 1 })
  t.same(durable, [0], 'the first change committed')

  await tables.root.close()
  // Sealed onto the chain as the group commit expects it (nothing is read from the closed
  // environment before they queue); the first schedules a transaction, the others wait for it.
  const request = newRequest()
  const queued = [
    group.submit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { details: { n: 1 } })] }),
    group.submit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { details: { n: 2 } }), draft('ContentAccessed', { details: { n: 3 } })] }),
    group.submit({ tenantId: request.tenantId, requests: [{ value: request, expectedVersion: 0 }], audit: [] })
  ]
  const settled = await Promise.allSettled(queued)
  t.same(settled.map((outcome) => outcome.status), ['rejected', 'rejected', 'rejected'], 'every queued change is refused')
  const reasons = settled.map((outcome) => (outcome as PromiseRejectedResult).reason as Error)
  t.match(reasons[0], { message: /closed/ }, 'with what lmdb said')
  t.ok(reasons.every((reason) => reason === reasons[0]), 'the same error for each')

  // Had the scheduling stayed taken, this change would wait for a transaction that never comes.
  const later = newRequest()
  await t.rejects(group.submit({ tenantId: later.tenantId, requests: [{ value: later, expectedVersion: 0 }], audit: [] }), { message: /closed/ }, 'a later change schedules a transaction of its own')
  t.same(durable, [0], 'nothing after the first change was acknowledged as durable')
  t.same(forgotten, [], 'nothing was appended to forget')
  t.match(group.stats, { batches: 1, lines: 1 })

  const reopened = await openEmbeddedStores({ dataDir })
  t.teardown(() => reopened.close())
  t.match(await reopened.audit.verify('contoso'), { valid: true, records: 1, headSeq: 1 }, 'the log holds the first change alone')
  t.same((await reopened.audit.query({ tenantId: 'contoso', limit: 10 })).items.map((record) => record.id), [first?.id])
  t.equal(await reopened.lockbox.getRequest(request.id), null, 'the refused changes wrote nothing')
  t.equal(await reopened.lockbox.getRequest(later.id), null)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(unhandled, [], 'no unhandled rejection')
})
