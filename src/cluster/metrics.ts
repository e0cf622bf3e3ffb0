// /metrics of a cluster worker: the scrape answers for every process, not just the one that served
// it. The worker reads its own metrics and asks the primary for the other workers' (as JSON);
// prom-client's AggregatorRegistry merges them by each metric's `aggregator` (a sum unless the
// metric says otherwise).
import { AggregatorRegistry } from 'prom-client'
import type { MetricsPart, WorkerLink } from './messages.js'

/** Longer than the primary's own wait for its workers: its answer, however partial, comes first. */
const ANSWER_WAIT_MS = 5000

export interface ClusterMetrics {
  /** The exposition of every process (of this one alone if the primary does not answer). */
  exposition: () => Promise<string>
  stop: () => void
}

export function clusterMetrics (link: WorkerLink, own: () => Promise<MetricsPart>, waitMs = ANSWER_WAIT_MS): ClusterMetrics {
  const waiting = new Map<number, (parts: MetricsPart[]) => void>()
  let nextId = 0
  const stop = link.on(function answerPrimary (message) {
    if (message.lockbox === 'metrics-collect') {
      own().then((metrics) => { link.send({ lockbox: 'metrics-part', id: message.id, metrics }) }, () => {
        // Left out of this scrape (the primary stops waiting for it); the next scrape asks again.
      })
    } else if (message.lockbox === 'metrics-all') {
      waiting.get(message.id)?.(message.parts)
    }
  })
  return {
    async exposition () {
      const id = nextId++
      const others = new Promise<MetricsPart[]>((resolve) => {
        // The primary not answering (it is going away): this process's own numbers, still correct ones.
        const timer = setTimeout(() => { resolve([]) }, waitMs)
        waiting.set(id, (parts) => { clearTimeout(timer); resolve(parts) })
        link.send({ lockbox: 'metrics', id })
      })
      const parts = await Promise.all([own(), others])
      waiting.delete(id)
      return await AggregatorRegistry.aggregate([parts[0], ...parts[1]]).metrics()
    },
    stop
  }
}
