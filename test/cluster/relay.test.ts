// The primary's hub and the workers' relay, in one process: two embedded stores stand for two
// processes of a backend whose events stay in-process (the LMDB store), joined through a Hub by
// links that carry each message as IPC does (serialised, delivered on a later turn).
import t, { type Test } from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { Counter, Registry } from 'prom-client'
import { clusterMetrics } from '../../src/cluster/metrics.js'
import { Hub } from '../../src/cluster/hub.js'
import type { MetricsPart, ToPrimary, ToWorker, WorkerLink } from '../../src/cluster/messages.js'
import { relayStoreEvents } from '../../src/cluster/relay.js'
import type { AuditRecord } from '../../src/domain/audit.js'
import { openEmbeddedStores } from '../../src/stores/embedded/index.js'
import type { GrantEvent, Stores } from '../../src/stores/types.js'
import { draftFor } from '../helpers/audit-records.js'
import { tempDir, testConfig } from '../helpers/config.js'
import { buildApp } from '../../src/app.js'

const copy = <T>(message: T): T => JSON.parse(JSON.stringify(message)) as T

interface Wire { link: WorkerLink, sent: ToPrimary[], received: ToWorker[], detach: () => void }

/** A worker `id` joined to `hub`; `sent` and `received` log what crossed the wire. */
function wire (hub: Hub, id: number): Wire {
  const listeners = new Set<(message: ToWorker) => void>()
  const sent: ToPrimary[] = []
  const received: ToWorker[] = []
  let attached = true
  hub.add({
    id,
    send: (message) => {
      setImmediate(() => {
        if (!attached) return
        received.push(copy(message))
        for (const listener of listeners) listener(copy(message))
      })
    }
  })
  return {
    link: {
      send: (message) => {
        sent.push(message)
        setImmediate(() => { hub.receive(id, copy(message)) })
      },
      on: (listener) => {
        listeners.add(listener)
        return () => { listeners.delete(listener) }
      }
    },
    sent,
    received,
    detach: () => {
      attached = false
      hub.remove(id)
    }
  }
}

async function settle (): Promise<void> {
  for (let i = 0; i < 10; i++) await turn()
}

async function twoProcesses (t: Test): Promise<{ hub: Hub, wires: [Wire, Wire], stores: [Stores, Stores], raw: [Stores, Stores] }> {
  const hub = new Hub()
  const wires: Wire[] = []
  const stores: Stores[] = []
  const raw: Stores[] = []
  for (const id of [1, 2]) {
    const dir = tempDir()
    const opened = await openEmbeddedStores({ dataDir: dir.path })
    const w = wire(hub, id)
    const relay = relayStoreEvents(opened, w.link)
    t.teardown(async () => {
      relay.stop()
      await opened.close()
      dir.remove()
    })
    wires.push(w)
    stores.push(relay.stores)
    raw.push(opened)
  }
  await settle()
  return { hub, wires: wires as [Wire, Wire], stores: stores as [Stores, Stores], raw: raw as [Stores, Stores] }
}

const EVENT: GrantEvent = { requestId: 'req-1', tenantId: 'contoso', status: 'Revoked' }

t.test('a grant event in one process reaches the other once, and its own listeners once', async (t) => {
  const { stores: [one, two] } = await twoProcesses(t)
  const heard: Array<[string, GrantEvent]> = []
  one.grantEvents.subscribe((event) => heard.push(['one', event]))
  const stop = two.grantEvents.subscribe((event) => heard.push(['two', event]))
  await one.grantEvents.publish(EVENT)
  await settle()
  t.same(heard, [['one', EVENT], ['two', EVENT]])
  stop()
  await two.grantEvents.publish({ ...EVENT, requestId: 'req-2' })
  await settle()
  t.same(heard.slice(2), [['one', { ...EVENT, requestId: 'req-2' }]], 'an unsubscribed listener hears nothing more')
})

t.test('committed records reach streams in other processes, sent only while one streams there', async (t) => {
  const { wires: [w1, w2], stores: [one, two] } = await twoProcesses(t)
  const records = (w: Wire): number => w.sent.filter((m) => m.lockbox === 'records').length
  await one.lockbox.commit({ tenantId: 'contoso', audit: [draftFor('contoso', 1)] })
  await settle()
  t.equal(records(w1), 0, 'nobody streams: nothing is sent')

  const streamed: Array<[string, AuditRecord[]]> = []
  const stopTwo = two.audit.subscribe((batch) => streamed.push(['two', batch]))
  const stopTwoAgain = two.audit.subscribe(() => {})
  await settle()
  t.same(w1.received.filter((m) => m.lockbox === 'records-wanted').at(-1), { lockbox: 'records-wanted', wanted: true }, 'process one is asked for its records')
  t.same(w2.received.filter((m) => m.lockbox === 'records-wanted'), [{ lockbox: 'records-wanted', wanted: false }], 'process two hears its own directly')
  const [sealed] = await one.lockbox.commit({ tenantId: 'contoso', audit: [draftFor('contoso', 2)] })
  // Across processes there is no order between batches: one at a time.
  await settle()
  await two.lockbox.commit({ tenantId: 'contoso', audit: [draftFor('contoso', 3)] })
  await settle()
  t.same(streamed.map(([who, batch]) => [who, batch.map((r) => r.details.n)]), [['two', [2]], ['two', [3]]], 'its own and the other\'s, each once')
  t.same(streamed[0]?.[1], [sealed], 'the record as sealed')
  t.equal(records(w2), 0, 'process two sends nothing: nobody else streams')

  stopTwo()
  stopTwo()
  t.same(w2.sent.filter((m) => m.lockbox === 'listening'), [{ lockbox: 'listening', on: true }], 'still one stream in process two')
  stopTwoAgain()
  await settle()
  t.same(w1.received.filter((m) => m.lockbox === 'records-wanted').at(-1), { lockbox: 'records-wanted', wanted: false })
  const before = records(w1)
  await one.lockbox.commit({ tenantId: 'contoso', audit: [draftFor('contoso', 4)] })
  await settle()
  t.equal(records(w1), before, 'no stream anywhere else: no longer sent')
})

t.test('a worker that goes away stops being streamed to', async (t) => {
  const { wires: [w1, w2], stores: [one, two] } = await twoProcesses(t)
  two.audit.subscribe(() => {})
  one.audit.subscribe(() => {})
  await settle()
  t.same(w1.received.filter((m) => m.lockbox === 'records-wanted').at(-1), { lockbox: 'records-wanted', wanted: true })
  w2.detach()
  await settle()
  t.same(w1.received.filter((m) => m.lockbox === 'records-wanted').at(-1), { lockbox: 'records-wanted', wanted: false }, 'the only other stream is gone')
})

t.test('the relayed stores are the backend in every other respect', async (t) => {
  const { hub, stores: [one], raw: [rawOne] } = await twoProcesses(t)
  // A message the relay has no part in (the hub asking for metrics) passes it by.
  hub.receive(2, { lockbox: 'metrics', id: 1 })
  await settle()
  t.equal(await one.ping(), true)
  t.same((one as unknown as { stats: unknown }).stats, (rawOne as unknown as { stats: unknown }).stats, 'a property read through')
  await one.lockbox.commit({ tenantId: 'contoso', audit: [draftFor('contoso', 1)] })
  t.match(await one.audit.verify('contoso'), { valid: true, records: 1 })
})

t.test('a worker app scrapes its metrics through its link', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const hub = new Hub(50)
  const own = wire(hub, 1)
  const other = wire(hub, 2)
  const app = await buildApp(testConfig(dir.path), { logger: false, sweep: false, notify: false, link: own.link })
  t.teardown(async () => { await app.close() })
  other.link.send({ lockbox: 'grant', event: EVENT })
  await settle()
  const scrape = await app.inject({ url: '/metrics' })
  t.equal(scrape.statusCode, 200)
  t.match(scrape.body, /^lockbox_requests\{status="Approved"\} 0$/m, 'the scrape went through the hub (worker 2 left out, it has no metrics)')
  t.ok(own.sent.some((m) => m.lockbox === 'metrics'))
})

t.test('the hub ignores a worker it does not know and messages it does not relay', async (t) => {
  const hub = new Hub()
  const w = wire(hub, 1)
  hub.receive(9, { lockbox: 'listening', on: true })
  hub.receive(1, { lockbox: 'ready', banner: '' })
  await settle()
  t.same(w.received, [{ lockbox: 'records-wanted', wanted: false }], 'only its first word to worker 1')
})

/** A process's metrics: one counter at `value`. */
async function partOf (value: number): Promise<MetricsPart> {
  const registry = new Registry()
  new Counter({ name: 'lockbox_test_total', help: 'test', registers: [registry] }).inc(value)
  return await registry.getMetricsAsJSON()
}

t.test('a scrape in one worker sums every worker\'s metrics', async (t) => {
  const hub = new Hub()
  const metrics = [3, 4].map((value, i) => clusterMetrics(wire(hub, i + 1).link, async () => await partOf(value)))
  t.teardown(() => { for (const m of metrics) m.stop() })
  t.match(await metrics[0]?.exposition(), /^lockbox_test_total 7$/m)
  t.match(await metrics[1]?.exposition(), /^lockbox_test_total 7$/m)
})

t.test('a scrape in the only worker is its own metrics, answered at once', async (t) => {
  const hub = new Hub(60_000)
  const metrics = clusterMetrics(wire(hub, 1).link, async () => await partOf(2), 60_000)
  t.teardown(metrics.stop)
  t.match(await metrics.exposition(), /^lockbox_test_total 2$/m)
})

t.test('a scrape leaves out a worker that does not answer, or that goes away', async (t) => {
  const hub = new Hub(50)
  const answering = clusterMetrics(wire(hub, 1).link, async () => await partOf(3))
  const stuck = clusterMetrics(wire(hub, 2).link, async () => await new Promise<MetricsPart>(() => {}))
  const failing = clusterMetrics(wire(hub, 3).link, async () => { throw new Error('no metrics') })
  let late!: () => void
  const lateAnswer = new Promise<void>((resolve) => { late = resolve })
  const slow = clusterMetrics(wire(hub, 4).link, async () => { await lateAnswer; return await partOf(100) })
  t.teardown(() => { answering.stop(); stuck.stop(); failing.stop(); slow.stop() })
  t.match(await answering.exposition(), /^lockbox_test_total 3$/m, 'after the hub\'s wait')
  late()
  await settle()
  t.match(await answering.exposition(), /^lockbox_test_total 103$/m, 'the late answer was dropped: the next scrape counts that worker once')

  const slowHub = new Hub(60_000)
  const first = clusterMetrics(wire(slowHub, 1).link, async () => await partOf(3))
  const leaving = wire(slowHub, 2)
  t.teardown(() => { first.stop() })
  const scrape = first.exposition()
  await settle()
  leaving.detach()
  t.match(await scrape, /^lockbox_test_total 3$/m, 'answered as soon as the one missing worker is gone')
})

t.test('a scrape falls back to its own metrics when the primary does not answer', async (t) => {
  const silent: WorkerLink = { send: () => {}, on: () => () => {} }
  const metrics = clusterMetrics(silent, async () => await partOf(5), 20)
  t.match(await metrics.exposition(), /^lockbox_test_total 5$/m)
})

t.test('a scrape whose own worker goes away is never answered by the hub', async (t) => {
  const hub = new Hub(60_000)
  const requester = wire(hub, 1)
  const other = wire(hub, 2)
  clusterMetrics(other.link, async () => await new Promise<MetricsPart>(() => {}))
  const metrics = clusterMetrics(requester.link, async () => await partOf(1), 200)
  const scrape = metrics.exposition()
  await settle()
  requester.detach()
  t.match(await scrape, /^lockbox_test_total 1$/m, 'its own numbers, after its own wait')
  t.same(requester.received.filter((m) => m.lockbox === 'metrics-all'), [])
})
