// The forwarder's edges on a real embedded store and HEC receiver: records pruned before delivery,
// a store that stops answering, two forwarders racing for one lease, and a lease lost mid-batch.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { toOcsf } from '../../src/domain/ocsf.js'
import { readAfter, SiemForwarder, type ForwarderOptions } from '../../src/siem/forwarder.js'
import { hecSink } from '../../src/siem/hec.js'
import { openEmbeddedStores } from '../../src/stores/embedded/index.js'
import type { Stores } from '../../src/stores/types.js'
import { tempDir } from '../helpers/config.js'
import { embedded } from './stores.js'
import { startHecReceiver, type HecEvent, type HecReceiver } from '../helpers/hec-receiver.js'
import { checkDelivery, commitRecords, waitUntil } from '../helpers/siem.js'
import type { Test } from '../stores/contract-fixtures.js'

interface Logged { level: string, msg: string, obj: Record<string, unknown> }

function recorder (): { log: ForwarderOptions['log'], logged: Logged[] } {
  const logged: Logged[] = []
  const at = (level: string) => (obj: object, msg: string): void => { logged.push({ level, msg, obj: obj as Record<string, unknown> }) }
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, logged }
}

function forwarder (t: Test, stores: Stores, receiver: HecReceiver, options: Partial<ForwarderOptions> = {}): SiemForwarder {
  const f = new SiemForwarder({
    sink: hecSink({ url: receiver.url, token: receiver.token, render: toOcsf, sourcetype: 'lockbox:ocsf', timeoutMs: 5000, ackPollMs: 20 }),
    cursors: stores.siemCursors,
    audit: stores.audit,
    tenants: () => ['contoso'],
    now: Date.now,
    log: recorder().log,
    baseDelayMs: 50,
    maxDelayMs: 100,
    ...options
  })
  t.teardown(async () => { await f.stop() })
  return f
}

const arrivals = (events: HecEvent[]): Array<{ seq: number, id: string }> => events.map((e) => ({ seq: e.fields?.lockbox_seq as number, id: e.fields?.lockbox_id as string }))

t.test('says which records retention pruned before the SIEM got them, and delivers the rest', async (t) => {
  let clock = Date.parse('2026-01-01T00:00:00.000Z')
  const stores = await embedded(t, () => clock)
  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  await commitRecords(stores, 'contoso', 20)
  clock += 60_000
  t.equal(await stores.audit.prune(clock), 20)
  await commitRecords(stores, 'contoso', 5)
  const { log, logged } = recorder()
  // Not started (no live feed): every pass looks in the store.
  const f = forwarder(t, stores, receiver, { log, rescanMs: 0 })
  await f.deliver()
  t.same(receiver.events.map((e) => e.fields?.lockbox_seq), [21, 22, 23, 24, 25])
  t.match(logged, [{ level: 'error', msg: 'audit records were pruned before the SIEM received them', obj: { tenantId: 'contoso', fromSeq: 1, toSeq: 20 } }])
  await commitRecords(stores, 'contoso', 2)
  await f.deliver()
  t.equal(logged.length, 1, 'said once')
  t.equal(receiver.events.length, 7)
})

t.test('keeps its place when the store stops answering, and leaves a lease it cannot let go of to run out', async (t) => {
  const stores = await embedded(t)
  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  const { log, logged } = recorder()
  let failures = 0
  const f = forwarder(t, stores, receiver, { log, rescanMs: 0, onFailure: () => { failures++ } })
  await commitRecords(stores, 'contoso', 3)
  await f.deliver()
  t.equal(receiver.events.length, 3)
  await stores.close()
  await f.deliver()
  t.equal(failures, 1, 'the unanswered store counts as a failed delivery')
  t.equal(receiver.events.length, 3)
  t.ok(logged.some((l) => l.msg === 'SIEM delivery cursor unavailable; will retry'))
  await f.stop()
  t.ok(logged.some((l) => l.msg === 'could not release a SIEM delivery lease; it runs out by itself'))
})

t.test('of two forwarders racing for one tenant, one takes the lease and the other stands by', async (t) => {
  const stores = await embedded(t)
  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  await commitRecords(stores, 'contoso', 30)
  const a = forwarder(t, stores, receiver, { batch: 10 })
  const b = forwarder(t, stores, receiver, { batch: 10 })
  await Promise.all([a.deliver(), b.deliver()])
  await Promise.all([a.deliver(), b.deliver()])
  t.match(checkDelivery(arrivals(receiver.events), 30), { complete: true, duplicates: 0 })
  const owner = (await stores.siemCursors.get('hec', 'contoso'))?.owner
  t.ok(owner === a.owner || owner === b.owner)
  const standby = owner === a.owner ? b : a
  t.same(standby.lag(), { records: 0, seconds: 0 }, 'the standby reports no lag of its own')
})

t.test('a lease that runs out while a batch waits for its acknowledgement passes on; the batch may repeat, nothing is lost', async (t) => {
  const stores = await embedded(t)
  const receiver = await startHecReceiver({ acks: true, ackDelayMs: 400 })
  t.teardown(receiver.stop)
  const { log, logged } = recorder()
  const slow = forwarder(t, stores, receiver, { leaseMs: 150, log, batch: 50 })
  await commitRecords(stores, 'contoso', 20)
  const first = slow.deliver()
  await sleep(200)
  const other = forwarder(t, stores, receiver, { leaseMs: 5000, batch: 50 })
  await other.deliver()
  await first
  t.ok(logged.some((l) => l.msg === 'lost the SIEM delivery lease during a batch'))
  await waitUntil(() => receiver.events.length >= 40, 'both sent the batch')
  const delivery = checkDelivery(arrivals(receiver.events), 20)
  t.match(delivery, { complete: true, gaps: [], conflicts: [] })
  t.equal(delivery.duplicates, 20, 'the batch arrived twice, with the same ids')
  t.match(await stores.siemCursors.get('hec', 'contoso'), { owner: other.owner, seq: 20 })
})

t.test('reads after a cursor from its time on, past a page of records of the same millisecond', async (t) => {
  const stores = await embedded(t, () => Date.parse('2026-01-01T00:00:00.000Z'))
  const records = await commitRecords(stores, 'contoso', 12, 12)
  const cursor = { seq: 7, time: records[6]!.time }
  const { records: after, end } = await readAfter(stores.audit, 'contoso', cursor, 3)
  t.same(after.map((r) => r.seq), [8, 9])
  t.equal(end, false)
  const rest = await readAfter(stores.audit, 'contoso', { seq: 11, time: records[10]!.time }, 3)
  t.same(rest.records.map((r) => r.seq), [12])
  t.equal(rest.end, true)
})

t.test('keeps chain order when another process appends to the same chain', async (t) => {
  const dir = tempDir('lockbox-siem-shared-')
  // Two processes on one data dir: this one hears the other's commits only when it polls (rarely here).
  const here = await openEmbeddedStores({ dataDir: dir.path, pollMs: 60_000 })
  const there = await openEmbeddedStores({ dataDir: dir.path })
  t.teardown(async () => {
    await Promise.all([here.close(), there.close()])
    dir.remove()
  })
  const receiver = await startHecReceiver()
  t.teardown(receiver.stop)
  const f = forwarder(t, here, receiver, { rescanMs: 60_000 })
  f.start(60_000)
  await f.deliver()
  await commitRecords(there, 'contoso', 5)
  await commitRecords(here, 'contoso', 5)
  await waitUntil(() => receiver.events.length >= 10, 'all 10 arrived')
  await sleep(100)
  t.match(checkDelivery(arrivals(receiver.events), 10), { complete: true, resumes: [], gaps: [], duplicates: 0 })
})
