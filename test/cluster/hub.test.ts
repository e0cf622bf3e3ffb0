// The primary's hub, in one process: workers are joined to it by links that carry each message as
// IPC does (serialised, delivered on a later turn).
import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { Counter, Registry } from 'prom-client'
import { clusterMetrics } from '../../src/cluster/metrics.js'
import { Hub } from '../../src/cluster/hub.js'
import type { MetricsPart, ToPrimary, ToWorker, WorkerLink } from '../../src/cluster/messages.js'
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

t.test('a worker app scrapes its metrics through its link', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const hub = new Hub(50)
  const own = wire(hub, 1)
  wire(hub, 2)
  const app = await buildApp(testConfig(dir.path), { logger: false, sweep: false, notify: false, link: own.link })
  t.teardown(async () => { await app.close() })
  await settle()
  const scrape = await app.inject({ url: '/metrics' })
  t.equal(scrape.statusCode, 200)
  t.match(scrape.body, /^lockbox_requests\{status="Approved"\} 0$/m, 'the scrape went through the hub (worker 2 left out, it has no metrics)')
  t.ok(own.sent.some((m) => m.lockbox === 'metrics'))
})

t.test('the hub ignores a worker it does not know and messages that are not its own', async (t) => {
  const hub = new Hub()
  const w = wire(hub, 1)
  hub.receive(9, { lockbox: 'metrics', id: 1 })
  hub.receive(1, { lockbox: 'ready', banner: '' })
  await settle()
  t.same(w.received, [], 'nothing sent to worker 1')
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
