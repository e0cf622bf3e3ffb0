// What the cluster primary and its workers say to each other over IPC (LOCKBOX_WORKERS > 1). Every
// message is tagged `lockbox`, so anything else on the channel (Node's own cluster traffic) is ignored.
import type { MetricObjectWithValues, MetricValue } from 'prom-client'

/** One process's metrics, as `Registry.getMetricsAsJSON()` gives them. */
export type MetricsPart = Array<MetricObjectWithValues<MetricValue<string>>>

export type ToPrimary =
  /** The worker listens; `banner` is what a single process would print at start. */
  | { lockbox: 'ready', banner: string }
  /** A scrape of /metrics in this process: gather every process's metrics. */
  | { lockbox: 'metrics', id: number }
  /** This process's answer to `metrics-collect`. */
  | { lockbox: 'metrics-part', id: number, metrics: MetricsPart }

export type ToWorker =
  | { lockbox: 'metrics-collect', id: number }
  /** Every process's metrics, answering this worker's `metrics` request `id`. */
  | { lockbox: 'metrics-all', id: number, parts: MetricsPart[] }
  /** Drain and exit, as on SIGTERM. */
  | { lockbox: 'shutdown' }

export function isLockboxMessage<T extends { lockbox: string }> (message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { lockbox?: unknown }).lockbox === 'string'
}

/** The worker's end of the IPC channel to the primary. */
export interface WorkerLink {
  send: (message: ToPrimary) => void
  /** Listens for the primary's messages; returns the unsubscribe. */
  on: (listener: (message: ToWorker) => void) => () => void
}

/** The link over this process's IPC channel (a cluster worker's `process.send`). */
export function processLink (): WorkerLink {
  return {
    send (message) {
      // The primary gone (its channel closed): the 'disconnect' handler shuts this worker down;
      // until then nothing it would be told matters.
      if (process.connected) process.send?.(message, undefined, {}, () => {})
    },
    on (listener) {
      const receive = (message: unknown): void => {
        if (isLockboxMessage<ToWorker>(message)) listener(message)
      }
      process.on('message', receive)
      return () => { process.off('message', receive) }
    }
  }
}
