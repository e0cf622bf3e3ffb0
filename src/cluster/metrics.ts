// /metrics of a cluster worker: the scrape answers for every process, not just the one that served
// it. The worker asks the primary, which gathers each worker's metrics as JSON; prom-client's
// AggregatorRegistry merges them by each metric's `aggregator` (a sum unless the metric says otherwise).
import { AggregatorRegistry } from 'prom-client'
import type { MetricsPart, WorkerLink } from './messages.js'

/** Longer than the primary's own wait for its workers: its answer, however partial, comes first. */
const ANSWER_WAIT_MS = 5000

export interface ClusterMetrics {
  /** The exposition of every process. */
  exposition: () => Promise<string>
  stop: () => void
}

export function clusterMetrics (link: WorkerLink, own: () => Promise<MetricsPart>, waitMs = ANSWER_WAIT_MS): ClusterMetrics {
  const waiting = new Map<number, (parts: MetricsPart[] | null) => void>()
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
      const parts = await new Promise<MetricsPart[] | null>((resolve) => {
        const timer = setTimeout(() => { resolve(null) }, waitMs)
        waiting.set(id, (parts) => { clearTimeout(timer); resolve(parts) })
        link.send({ lockbox: 'metrics', id })
      })
      waiting.delete(id)
      // The primary did not answer (it is going away): this process's own numbers, still correct ones.
      return await AggregatorRegistry.aggregate(parts ?? [await own()]).metrics()
    },
    stop
  }
}
