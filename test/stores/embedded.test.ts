import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { iso } from '../../src/domain/lockbox.js'
import type { AuditOperation, AuditRecord } from '../../src/domain/audit.js'
import { ConflictError, GrantEndedError } from '../../src/errors.js'
import { DATABASE_FILE, openEmbeddedStores } from '../../src/stores/embedded/index.js'
import type { Change, GrantEvent, Stores } from '../../src/stores/types.js'
import { open as openLmdb } from 'lmdb'
import { storeContract } from './contract.js'
import { sharedGrantEventsContract } from './contract-grant-events.js'
import { advance, allPages, draft, MINUTE, newNotification, newRequest, newServiceRequest, next, storeRequest, T0, type Test } from './contract-fixtures.js'
import { eventually } from '../helpers/eventually.js'

const WRITER = fileURLToPath(new URL('../fixtures/embedded-writer.ts', import.meta.url))

const root = await mkdtemp(join(tmpdir(), 'lockbox-embedded-'))
t.teardown(() => rm(root, { recursive: true, force: true }))
let dirs = 0
const freshDir = (): string => join(root, `store-${++dirs}`)

async function openFresh (t: Test, dataDir = freshDir()): Promise<Awaited<ReturnType<typeof openEmbeddedStores>>> {
  const stores = await openEmbeddedStores({ dataDir })
  t.teardown(() => stores.close())
  return stores
}

/** Everything a client can read back, for before/after comparisons. */
async function snapshot (stores: Stores): Promise<unknown> {
  return {
    requests: (await allPages((cursor) => stores.lockbox.listRequests({ now: T0, limit: 2, cursor }))).items,
    unsettled: (await stores.lockbox.listUnsettledRequests()).map((request) => request.id).sort(),
    serviceRequests: (await stores.lockbox.listServiceRequests('contoso', { limit: 100 })).items,
    ofServiceRequest: await stores.lockbox.listRequestsOfServiceRequest('contoso', '100001'),
    settings: await stores.lockbox.getTenantSettings('contoso'),
    notifications: await stores.lockbox.listNotifications({ limit: 100 }),
    pendingNotifications: await stores.lockbox.listNotifications({ status: 'pending', limit: 100 }),
    due: await stores.lockbox.listDueNotifications(T0 + 10 * MINUTE, 100),
    audit: (await stores.audit.query({ limit: 1000 })).items,
    heads: [await stores.audit.head('contoso'), await stores.audit.head('fabrikam')],
    chains: [await stores.audit.verify('contoso'), await stores.audit.verify('fabrikam')]
  }
}

t.test('passes the store contract', async (t) => {
  storeContract(t, () => openEmbeddedStores({ dataDir: freshDir() }))
})

t.test('restores the same state after close and reopen', async (t) => {
  const dataDir = freshDir()
  let stores = await openEmbeddedStores({ dataDir })
  const [first, , third] = [
    await stores.lockbox.nextServiceRequestNumber('contoso'),
    await stores.lockbox.nextServiceRequestNumber('contoso'),
    await stores.lockbox.nextServiceRequestNumber('contoso')
  ] as [string, string, string]
  for (const number of [third, first, 'legacy-7']) {
    await stores.lockbox.commit({ tenantId: 'contoso', serviceRequests: [{ value: newServiceRequest(number), expectedVersion: 0 }], audit: [draft('ServiceRequestOpened')] })
  }
  await stores.lockbox.commit({
    tenantId: 'contoso',
    tenantSettings: { value: { tenantId: 'contoso', lockboxEnabled: true, approverEmails: ['it@contoso.com'], version: 0 }, expectedVersion: 0 },
    audit: [draft('TenantSettingsUpdated', { actorId: 'admin-1' })]
  })
  const approved = await advance(stores, await advance(stores, await storeRequest(stores, newRequest({ serviceRequestNumber: first })), 'ManagerApprove', T0 + MINUTE), 'CustomerApprove', T0 + 2 * MINUTE)
  await advance(stores, await storeRequest(stores, newRequest({ tenantId: 'fabrikam' })), 'ManagerReject', T0 + MINUTE)
  await storeRequest(stores, newRequest({ at: T0 + MINUTE }))
  const [notice, other] = [newNotification({ requestId: approved.id }), newNotification({ tenantId: 'fabrikam', at: T0 + MINUTE, nextAttemptAt: T0 + 2 * MINUTE })]
  await stores.lockbox.commit({ tenantId: 'contoso', notifications: [{ value: notice, expectedVersion: 0 }], audit: [draft('ApproversNotified', { requestId: approved.id })] })
  await stores.lockbox.commit({ tenantId: 'fabrikam', notifications: [{ value: other, expectedVersion: 0 }], audit: [] })
  await stores.lockbox.commit({ tenantId: 'contoso', notifications: [{ value: { ...notice, status: 'sent', attempts: 1 }, expectedVersion: 1 }], audit: [] })
  const before = await snapshot(stores)
  await stores.close()

  stores = await openFresh(t, dataDir)
  t.same(await snapshot(stores), before)
  t.ok(Number(await stores.lockbox.nextServiceRequestNumber('contoso')) > Number(third), 'numbering continues past every committed number')
  t.match(await stores.lockbox.nextServiceRequestNumber('fabrikam'), /^\d+$/)
  await t.rejects(advance(stores, { ...approved, version: approved.version - 1 }, 'Revoke', T0 + 3 * MINUTE), ConflictError, 'versions survive too')
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', notifications: [{ value: notice, expectedVersion: 1 }], audit: [] }), ConflictError, 'notification versions too')
  t.match(before, { notifications: [{ id: other.id, version: 1 }, { id: notice.id, status: 'sent', version: 2 }], due: [{ id: other.id }] })
})

t.test('creates a missing data directory, its files readable by the owner only', async (t) => {
  const dataDir = join(freshDir(), 'nested', 'data')
  const stores = await openFresh(t, dataDir)
  await storeRequest(stores, newRequest())
  for (const file of [DATABASE_FILE, DATABASE_FILE + '-lock']) t.equal((await stat(join(dataDir, file))).mode & 0o777, 0o600, file)
})

t.test('refuses to start when the database cannot be opened', async (t) => {
  const dataDir = freshDir()
  await mkdir(join(dataDir, DATABASE_FILE), { recursive: true })
  await t.rejects(openEmbeddedStores({ dataDir }))
})

t.test('commits a change that requires its grant only while the grant is Approved, in the same transaction', async (t) => {
  const stores = await openFresh(t)
  const approved = await advance(stores, await advance(stores, await storeRequest(stores, newRequest()), 'ManagerApprove', T0 + MINUTE), 'CustomerApprove', T0 + 2 * MINUTE)
  const pending = await storeRequest(stores, newRequest())
  const ends = Date.parse(approved.accessEndsAt as string)
  const access = (requestId: string, now: number, tenantId = 'contoso'): Change =>
    ({ tenantId, audit: [draft('ContentAccessed', { tenantId, requestId })], requireApproved: { requestId, now } })
  const head = await stores.audit.head('contoso')
  const outcomes = await Promise.allSettled([
    stores.lockbox.commit(access(approved.id, ends - 1)),
    stores.lockbox.commit(access(approved.id, ends)),
    stores.lockbox.commit(access(pending.id, T0 + 3 * MINUTE)),
    stores.lockbox.commit(access('no-such-request', T0 + 3 * MINUTE)),
    stores.lockbox.commit(access(approved.id, ends - 1, 'fabrikam')),
    stores.lockbox.commit(access(approved.id, ends - 2))
  ])
  t.same(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected', 'fulfilled'], 'refused alone, the others sharing the commit go through')
  t.match(outcomes.slice(1, 5).map((outcome) => (outcome as PromiseRejectedResult).reason), [
    // The window is over: its effective status (the one rule every backend applies, change.ts).
    { name: 'GrantEndedError', requestId: approved.id, status: 'Completed' },
    { name: 'GrantEndedError', requestId: pending.id, status: 'AwaitingManagerApproval' },
    { name: 'GrantEndedError', requestId: 'no-such-request', status: null },
    { name: 'GrantEndedError', status: null }
  ])
  t.match(await stores.audit.head('contoso'), { seq: head.seq + 2 }, 'nothing of the refused ones was written')
  t.same(await stores.audit.head('fabrikam'), { seq: 0, hash: '0'.repeat(64) })

  // The revoke and an access racing it: whichever is first in the transaction, no access follows the revoke.
  const racing = await Promise.allSettled([advance(stores, approved, 'Revoke', T0 + 3 * MINUTE), stores.lockbox.commit(access(approved.id, T0 + 3 * MINUTE))])
  t.equal(racing[0].status, 'fulfilled')
  await t.rejects(stores.lockbox.commit(access(approved.id, T0 + 3 * MINUTE)), GrantEndedError)
  const operations = (await stores.audit.query({ requestId: approved.id, limit: 100 })).items.map((record) => record.operation)
  t.equal(operations.indexOf('ContentAccessed', operations.indexOf('LockboxAccessRevoked')), -1, 'no access after the revoke')
})

t.test('keeps tampered records as they are, so that verify reports them', async (t) => {
  const dataDir = freshDir()
  const first = await openEmbeddedStores({ dataDir })
  for (let index = 0; index < 3; index++) await first.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
  await first.close()
  const env = openLmdb({ path: join(dataDir, DATABASE_FILE) })
  const audit = env.openDB<string, number>({ name: 'audit', encoding: 'string', keyEncoding: 'uint32' })
  await audit.put(1, (audit.get(1) as string).replace('"result":"Success"', '"result":"Failure"'))
  await env.close()

  const stores = await openFresh(t, dataDir)
  t.match(await stores.audit.verify('contoso'), { valid: false, records: 3, firstInvalidSeq: 2 })
  t.equal((await stores.audit.query({ limit: 5 })).items[1]?.result, 'Failure')
})

t.test('shares commits (and their fsyncs) among 200 concurrent changes', async (t) => {
  const stores = await openFresh(t)
  const before = stores.stats
  await Promise.all(Array.from({ length: 200 }, () => storeRequest(stores, newRequest())))
  const after = stores.stats
  t.equal(after.lines - before.lines, 200)
  t.ok(after.syncs - before.syncs < 20, `${after.syncs - before.syncs} syncs for 200 commits`)
  t.equal(after.syncs - before.syncs, after.batches - before.batches)
})

t.test('applies two puts of one entity in one change in order', async (t) => {
  const stores = await openFresh(t)
  const request = newRequest()
  const approved = next({ ...request, version: 1 }, 'ManagerApprove', T0 + MINUTE).request
  await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: request, expectedVersion: 0 }, { value: approved, expectedVersion: 1 }], audit: [] })
  t.match(await stores.lockbox.getRequest(request.id), { version: 2, status: 'AwaitingCustomerApproval' })
  const other = newRequest()
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: other, expectedVersion: 0 }, { value: other, expectedVersion: 0 }], audit: [] }), ConflictError)
  t.equal(await stores.lockbox.getRequest(other.id), null)
})

t.test('refuses a cursor of the right kind whose numbers are wrong', async (t) => {
  const stores = await openFresh(t)
  const cursor = (text: string): string => Buffer.from(text).toString('base64url')
  for (const text of ['r:1', 'r:1:x', 'r:1:2:3', 'r:99999999999999999:1']) {
    await t.rejects(stores.lockbox.listRequests({ now: T0, limit: 5, cursor: cursor(text) }), { code: 'VALIDATION_FAILED' }, text)
  }
  await t.rejects(stores.audit.query({ limit: 5, cursor: cursor('a:-') }), { code: 'VALIDATION_FAILED' })
  t.same(await stores.audit.query({ limit: 5, cursor: cursor('a:7') }), { items: [], nextCursor: null }, 'past the end is an empty page')
})

t.test('stamps audit times from its clock, never going backwards', async (t) => {
  let clock = T0 + 1000
  const stores = await openEmbeddedStores({ dataDir: freshDir(), now: () => clock })
  t.teardown(() => stores.close())
  const times: string[] = []
  for (const at of [T0 + 1000, T0, T0 + 5000]) {
    clock = at
    const [record] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] })
    times.push((record as AuditRecord).time)
  }
  t.same(times, [iso(T0 + 1000), iso(T0 + 1000), iso(T0 + 5000)])
})

t.test('keeps notifying other subscribers when one of them throws', async (t) => {
  const stores = await openFresh(t)
  const events: GrantEvent[] = []
  stores.grantEvents.subscribe(() => { throw new Error('subscriber bug') })
  stores.grantEvents.subscribe((event) => events.push(event))
  const approved = await advance(stores, await advance(stores, await storeRequest(stores, newRequest()), 'ManagerApprove', T0 + MINUTE), 'CustomerApprove', T0 + 2 * MINUTE)
  await advance(stores, approved, 'Revoke', T0 + 3 * MINUTE)
  t.same(events, [{ requestId: approved.id, tenantId: 'contoso', status: 'Revoked' }])
})

t.test('keeps a record with an operation it does not know and finds it by its other fields', async (t) => {
  const stores = await openFresh(t)
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('Bogus' as AuditOperation, { actorId: 'odd-1' })] })
  t.equal((await stores.audit.query({ actorId: 'odd-1', limit: 5 })).items[0]?.operation, 'Bogus')
  t.same((await stores.audit.query({ operations: ['Bogus' as AuditOperation], limit: 5 })).items, [])
})

t.test('indexes a field up to 1900 bytes, counted in UTF-8, and refuses a record with a longer one', async (t) => {
  const stores = await openFresh(t)
  const long = 'r'.repeat(1900)
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { requestId: long })] })
  t.equal((await stores.audit.query({ requestId: long, limit: 5 })).items.length, 1, 'found by it')
  // 700 characters, 2100 bytes.
  await t.rejects(stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { actorId: '€'.repeat(700) })] }), { name: 'TypeError', message: /longer than 1900 bytes/ })
  t.match(await stores.audit.verify('contoso'), { valid: true, records: 1 })
})

t.test('streams, verifies and replays a long log', async (t) => {
  const dataDir = freshDir()
  let stores = await openEmbeddedStores({ dataDir })
  const bulk = (size: number): Parameters<Stores['lockbox']['commit']>[0] =>
    ({ tenantId: 'contoso', audit: Array.from({ length: size }, (_, index) => draft('ContentAccessed', { details: { index, path: '/sites/finance/'.padEnd(200, 'x') } })) })
  await stores.lockbox.commit(bulk(5000))
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessDenied')] })
  await stores.lockbox.commit(bulk(500))
  const seqs = async (filter: Parameters<Stores['audit']['export']>[0]): Promise<number[]> => {
    const found: number[] = []
    for await (const record of stores.audit.export(filter)) found.push(record.seq)
    return found
  }
  t.same(await seqs({ operations: ['ContentAccessDenied'] }), [5001], 'a rare record is found across a long scan')
  t.same(await seqs({ tenantId: 'fabrikam', operations: ['ContentAccessed'] }), [], 'a scan past thousands of candidates that do not match')
  t.same(await seqs({ tenantId: 'contoso' }), Array.from({ length: 5501 }, (_, index) => index + 1), 'every record, in order')
  const lines = async (filter: Parameters<Stores['audit']['export']>[0]): Promise<number[]> => {
    const chunks: Buffer[] = []
    for await (const chunk of stores.audit.exportNdjson(filter)) chunks.push(Buffer.from(chunk))
    t.ok(chunks.every((chunk) => chunk.at(-1) === 0x0a), 'every chunk ends with a whole line')
    return Buffer.concat(chunks).toString('utf8').split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as AuditRecord).seq)
  }
  t.same(await lines({ tenantId: 'contoso' }), Array.from({ length: 5501 }, (_, index) => index + 1), 'NDJSON: every record, in order, over many chunks')
  t.same(await lines({ tenantId: 'fabrikam', operations: ['ContentAccessed'] }), [], 'NDJSON: a scan past thousands of candidates that do not match')
  // Two exports at once: each reads between the other's chunks, and neither line is torn by that.
  t.same(await Promise.all([lines({ tenantId: 'contoso' }), lines({ operations: ['ContentAccessed'], from: 0 })]),
    [Array.from({ length: 5501 }, (_, index) => index + 1), Array.from({ length: 5501 }, (_, index) => index + 1).filter((seq) => seq !== 5001)], 'NDJSON: two exports at once')
  // A record longer than a chunk goes out whole, in a chunk of its own size.
  await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed', { details: { note: 'x'.repeat(100_000) } })] })
  t.same(await lines({ operations: ['ContentAccessDenied', 'ContentAccessed'], from: 0 }), Array.from({ length: 5502 }, (_, index) => index + 1), 'NDJSON: a record larger than a chunk')
  let mapped = 0
  for await (const chunk of stores.audit.exportNdjson({ tenantId: 'contoso' }, (record) => record)) mapped += Buffer.from(chunk).toString('utf8').split('\n').length - 1
  t.equal(mapped, 5502, 'NDJSON mapped: a record larger than a chunk')
  const verified = await stores.audit.verify('contoso')
  await stores.close()

  stores = await openFresh(t, dataDir)
  t.same(await stores.audit.verify('contoso'), verified)
  t.match(verified, { valid: true, records: 5502 })
})

t.test('loses no acknowledged commit when killed with SIGKILL mid-stream', async (t) => {
  const dataDir = freshDir()
  // execArgv carries tap's loader flags, so the child can run TypeScript like this test does.
  const child = spawn(process.execPath, [...process.execArgv, WRITER, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const exited = once(child, 'exit')
  const acks: Array<{ tenantId: string, requestId: string, recordId: string }> = []
  for await (const line of createInterface({ input: child.stdout })) {
    const [, tenantId, requestId, recordId] = line.split(' ') as [string, string, string, string]
    acks.push({ tenantId, requestId, recordId })
    if (acks.length === 300) child.kill('SIGKILL')
  }
  const [, signal] = await exited
  t.equal(signal, 'SIGKILL')
  t.ok(acks.length >= 300, `${acks.length} acknowledged`)

  const stores = await openFresh(t, dataDir)
  const lost: string[] = []
  for (const ack of acks) {
    const records = (await stores.audit.query({ requestId: ack.requestId, limit: 5 })).items
    if ((await stores.lockbox.getRequest(ack.requestId)) === null || records[0]?.id !== ack.recordId) lost.push(ack.requestId)
  }
  t.same(lost, [], 'every acknowledged commit is there')
  t.match(await stores.audit.verify('contoso'), { valid: true })
  t.match(await stores.audit.verify('fabrikam'), { valid: true })
})

t.test('shares the data dir with another process: one chain per tenant, and its records on the live stream', async (t) => {
  const dataDir = freshDir()
  const stores = await openEmbeddedStores({ dataDir, pollMs: 20 })
  t.teardown(() => stores.close())
  const streamed: AuditRecord[] = []
  t.teardown(stores.audit.subscribe((records) => streamed.push(...records)))
  const child = spawn(process.execPath, [...process.execArgv, WRITER, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const exited = once(child, 'exit')
  const theirs: string[] = []
  const ours: string[] = []
  const writing = (async () => {
    while (theirs.length < 200) {
      const [record] = await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft('ContentAccessed')] }) as [AuditRecord]
      ours.push(record.id)
    }
  })()
  for await (const line of createInterface({ input: child.stdout })) {
    theirs.push(line.split(' ')[3] as string)
    if (theirs.length === 200) child.kill('SIGKILL')
  }
  await exited
  await writing
  for (const tenantId of ['contoso', 'fabrikam']) t.match(await stores.audit.verify(tenantId), { valid: true }, `${tenantId}: both processes appended to one valid chain`)
  const ids = new Set<string>()
  for await (const record of stores.audit.export({})) ids.add(record.id)
  t.same([...theirs, ...ours].filter((id) => !ids.has(id)), [])
  await eventually('theirs.every((id) => streamed.some((record) => record.id === id))', () => theirs.every((id) => streamed.some((record) => record.id === id)))
  const positions = new Map((await allPages((cursor) => stores.audit.query({ limit: 500, cursor }))).items.map((record, index) => [record.id, index]))
  t.ok(streamed.every((record, index) => index === 0 || (positions.get(record.id) as number) > (positions.get((streamed[index - 1] as AuditRecord).id) as number)), 'streamed in append order, each once')
})

t.test('hears the grant events another process sharing the data dir publishes or commits, each once', async (t) => {
  const dataDir = freshDir()
  // Two stores on one data dir in this process stand for two processes: each has its own origin in
  // the grant log and follows the other's events by polling, as another process would.
  const ours = await openEmbeddedStores({ dataDir, pollMs: 20 })
  t.teardown(() => ours.close())
  const theirs = await openEmbeddedStores({ dataDir, pollMs: 20 })
  t.teardown(() => theirs.close())
  const heard: GrantEvent[] = []
  const own: GrantEvent[] = []
  t.teardown(ours.grantEvents.subscribe((event) => heard.push(event)))
  t.teardown(theirs.grantEvents.subscribe((event) => own.push(event)))
  const published: GrantEvent = { requestId: 'published-1', tenantId: 'contoso', status: 'Revoked' }
  await theirs.grantEvents.publish(published)
  const approved = await advance(theirs, await advance(theirs, await storeRequest(theirs, newRequest()), 'ManagerApprove', T0 + MINUTE), 'CustomerApprove', T0 + 2 * MINUTE)
  await advance(theirs, approved, 'Revoke', T0 + 3 * MINUTE)
  const committed: GrantEvent = { requestId: approved.id, tenantId: 'contoso', status: 'Revoked' }
  await eventually('both grant events heard', () => heard.length >= 2)
  t.same(heard, [published, committed], 'the other process hears both, in order')
  t.same(own, [published, committed], 'the publishing process emitted each once, not again when its poll found them')
})

// Two stores on one data dir in this process stand for two processes, as above.
sharedGrantEventsContract(t, async (t) => {
  const dataDir = freshDir()
  const pair: [Stores, Stores] = [await openEmbeddedStores({ dataDir, pollMs: 20 }), await openEmbeddedStores({ dataDir, pollMs: 20 })]
  for (const stores of pair) t.teardown(() => stores.close())
  return pair
})

t.test('keeps the last 1000 grant events in its log, not every event ever', async (t) => {
  const dataDir = freshDir()
  const stores = await openEmbeddedStores({ dataDir })
  await Promise.all(Array.from({ length: 1005 }, async (_, index) => await stores.grantEvents.publish({ requestId: `r-${index}`, tenantId: 'contoso', status: 'Revoked' })))
  await stores.close()
  const env = openLmdb({ path: join(dataDir, DATABASE_FILE) })
  const log = env.openDB<string, number>({ name: 'grantLog', encoding: 'string', keyEncoding: 'uint32' })
  const kept = [...log.getKeys()]
  await env.close()
  t.equal(kept.length, 1000)
  t.same([kept[0], kept.at(-1)], [6, 1005], 'the oldest five are gone')
})
