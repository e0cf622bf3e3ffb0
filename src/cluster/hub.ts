// The primary's switchboard between its workers: gathers the other workers' metrics for a scrape of
// any one of them. (Grant events and audit records need no relay: every store backend carries them
// to every process itself, the embedded one through its shared database.)
import type { MetricsPart, ToPrimary, ToWorker } from './messages.js'

export interface HubWorker {
  id: number
  send: (message: ToWorker) => void
}

/** How long a scrape waits for the other workers; one that is stuck is left out of the answer. */
const METRICS_WAIT_MS = 2000

interface Gathering { requester: HubWorker, requestId: number, waiting: Set<number>, parts: MetricsPart[], timer: NodeJS.Timeout }

export class Hub {
  private readonly workers = new Map<number, HubWorker>()
  private readonly gatherings = new Map<number, Gathering>()
  private nextGathering = 0

  constructor (private readonly waitMs = METRICS_WAIT_MS) {}

  add (worker: HubWorker): void {
    this.workers.set(worker.id, worker)
  }

  /** A worker gone: nothing more is sent to it, and no scrape waits for it. */
  remove (id: number): void {
    this.workers.delete(id)
    for (const [key, gathering] of this.gatherings) {
      if (gathering.requester.id === id) this.finish(key, false)
      else if (gathering.waiting.delete(id) && gathering.waiting.size === 0) this.finish(key, true)
    }
  }

  receive (from: number, message: ToPrimary): void {
    const sender = this.workers.get(from)
    if (sender === undefined) return
    switch (message.lockbox) {
      case 'metrics':
        this.gather(sender, message.id)
        break
      case 'metrics-part':
        this.collect(from, message.id, message.metrics)
        break
      default:
        break
    }
  }

  /** The other workers' metrics for `requester`, which adds its own. */
  private gather (requester: HubWorker, requestId: number): void {
    const key = this.nextGathering++
    const others = [...this.workers.values()].filter((worker) => worker.id !== requester.id)
    const timer = setTimeout(() => { this.finish(key, true) }, this.waitMs)
    this.gatherings.set(key, { requester, requestId, waiting: new Set(others.map((worker) => worker.id)), parts: [], timer })
    if (others.length === 0) this.finish(key, true)
    for (const worker of others) worker.send({ lockbox: 'metrics-collect', id: key })
  }

  private collect (from: number, key: number, metrics: MetricsPart): void {
    const gathering = this.gatherings.get(key)
    if (gathering === undefined || !gathering.waiting.delete(from)) return
    gathering.parts.push(metrics)
    if (gathering.waiting.size === 0) this.finish(key, true)
  }

  private finish (key: number, answer: boolean): void {
    const gathering = this.gatherings.get(key) as Gathering
    this.gatherings.delete(key)
    clearTimeout(gathering.timer)
    if (answer) gathering.requester.send({ lockbox: 'metrics-all', id: gathering.requestId, parts: gathering.parts })
  }
}
