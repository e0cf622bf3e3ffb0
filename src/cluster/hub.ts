// The primary's switchboard between its workers: relays grant events to every other worker and
// committed audit records to the workers that stream them (telling each worker whether anyone
// elsewhere wants its records), and gathers the other workers' metrics for a scrape of any one of them.
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
  /** Workers with live audit stream subscribers. */
  private readonly listening = new Set<number>()
  /** What each worker was last told about sending its records. */
  private readonly wanted = new Map<number, boolean>()
  private readonly gatherings = new Map<number, Gathering>()
  private nextGathering = 0

  constructor (private readonly waitMs = METRICS_WAIT_MS) {}

  add (worker: HubWorker): void {
    this.workers.set(worker.id, worker)
    this.updateWanted()
  }

  /** A worker gone: nothing more is sent to it, and no scrape waits for it. */
  remove (id: number): void {
    this.workers.delete(id)
    this.listening.delete(id)
    this.wanted.delete(id)
    for (const [key, gathering] of this.gatherings) {
      if (gathering.requester.id === id) this.finish(key, false)
      else if (gathering.waiting.delete(id) && gathering.waiting.size === 0) this.finish(key, true)
    }
    this.updateWanted()
  }

  receive (from: number, message: ToPrimary): void {
    const sender = this.workers.get(from)
    if (sender === undefined) return
    switch (message.lockbox) {
      case 'grant':
        for (const worker of this.workers.values()) if (worker.id !== from) worker.send(message)
        break
      case 'records':
        for (const id of this.listening) if (id !== from) this.workers.get(id)?.send(message)
        break
      case 'listening':
        if (message.on) this.listening.add(from)
        else this.listening.delete(from)
        this.updateWanted()
        break
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

  private updateWanted (): void {
    for (const worker of this.workers.values()) {
      // Wanted when some other worker streams: a worker's own stream hears its commits directly.
      const wanted = [...this.listening].some((id) => id !== worker.id)
      if (this.wanted.get(worker.id) === wanted) continue
      this.wanted.set(worker.id, wanted)
      worker.send({ lockbox: 'records-wanted', wanted })
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
