// The app's Prometheus metrics (prom-client): one registry per app, so two apps in one process (the
// tests) never share a counter. Hot-path counts the gateway already keeps (token and grant caches,
// store batching, streams in flight) are read at scrape time instead of being counted twice.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { clusterMetrics } from '../../src/cluster/metrics.js'
import type { WorkerLink } from '../../src/cluster/messages.js'
import type { Log } from '../../src/log.js'
import type { Stores } from '../../src/stores/types.js'
import type { Gateway } from './gateway.js'
import { effectiveStatus, FINAL_STATUSES, STATUSES, type RequestStatus } from '../../src/domain/lockbox.js'

export interface Metrics {
  registry: Registry
  /** Content requests by how they ended: forwarded, denied (by reason), upstream_error, unavailable. */
  contentRequests: Counter<'workload' | 'method' | 'outcome' | 'reason' | 'status_class'>
  /** Time the gateway itself adds before a request goes upstream: checks and the access record. */
  gatewayOverhead: Histogram<'workload'>
  /** From forwarding to the upstream's response head. */
  upstreamResponse: Histogram<'workload'>
  /** One audit commit, from the call to durable. */
  auditAppend: Histogram<'operation'>
  /** Notification delivery attempts (the notifications worker's `onAttempt`). */
  notifications: Counter<'channel' | 'result'>
  /** Grant state changes, from the transition to this replica dropping the grant. */
  revocationLag: Histogram
  /** The whole exposition: the app's metrics, then the process's. */
  exposition: () => Promise<string>
  contentType: string
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

const OPEN_STATUSES = STATUSES.filter((status) => !FINAL_STATUSES.has(status))

// Process metrics describe the process, not an app: they live in one registry, made on first use,
// so building many apps in one process does not stack up event-loop and GC observers.
let processRegistry: Registry | null = null
function processMetrics (): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
    // Gauges named like counters, which `promtool check metrics` rejects; the same numbers are in
    // nodejs_active_handles, nodejs_active_requests and nodejs_active_resources, by type.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      processRegistry.removeSingleMetric(name)
    }
  }
  return processRegistry
}

/** Where the scrape-time metrics read their counts. */
interface ScrapeSources {
  gateway: Gateway
  stores: Stores
  now: () => number
  log: Log
}

/**
 * The metrics read when scraped rather than counted twice: the counts live where the work happens
 * (token and grant caches, streams in flight, the store's batching) or in the store (open requests).
 */
function readAtScrape (registry: Registry, sources: ScrapeSources): void {
  registry.registerMetric(new Counter({
    name: 'lockbox_token_verifications_total',
    help: 'Access-token checks: hit (verified before, cached), miss (signature verified now), fail (refused)',
    labelNames: ['result'] as const,
    registers: [],
    collect () {
      const { hits, misses, failures } = sources.gateway.tokens.stats
      this.reset()
      this.inc({ result: 'hit' }, hits)
      this.inc({ result: 'miss' }, misses - failures)
      this.inc({ result: 'fail' }, failures)
    }
  }))
  registry.registerMetric(new Counter({
    name: 'lockbox_grant_cache_events_total',
    help: 'Grant cache events: hit (answered from memory), miss (read from the store), drop (a grant event emptied it)',
    labelNames: ['event'] as const,
    registers: [],
    collect () {
      const { hits, misses, drops } = sources.gateway.grants.stats
      this.reset()
      this.inc({ event: 'hit' }, hits)
      this.inc({ event: 'miss' }, misses)
      this.inc({ event: 'drop' }, drops)
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'lockbox_content_in_flight',
    help: 'Content exchanges under way (registered for cutting when their grant ends)',
    registers: [],
    collect () {
      this.set(sources.gateway.inFlight.size)
    }
  }))
  registry.registerMetric(new Counter({
    name: 'lockbox_audit_commit_batches_total',
    help: 'Group-commit batches written by the store (embedded write transactions or Redis script calls); commits / batches is the mean batch size',
    registers: [],
    collect () {
      this.reset()
      this.inc(sources.stores.batching().batches)
    }
  }))
  registry.registerMetric(new Counter({
    name: 'lockbox_audit_commits_total',
    help: 'Commits (each with its audit records) that reached the store in those batches',
    registers: [],
    collect () {
      this.reset()
      this.inc(sources.stores.batching().commits)
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'lockbox_requests',
    help: 'Lockbox requests in each open status (awaiting a decision, or approved), as evaluated now',
    labelNames: ['status'] as const,
    registers: [],
    // Every process counts the one shared store: across processes, one count, not their sum.
    aggregator: 'max',
    async collect () {
      this.reset()
      let unsettled
      try {
        unsettled = await sources.stores.lockbox.listUnsettledRequests()
      } catch (err) {
        // The store's own health is on /readyz; a scrape still answers with everything else.
        sources.log.warn({ err }, 'metrics: could not count lockbox requests')
        return
      }
      const counts = new Map<RequestStatus, number>(OPEN_STATUSES.map((status) => [status, 0]))
      const now = sources.now()
      for (const request of unsettled) {
        const status = effectiveStatus(request, now)
        const count = counts.get(status)
        if (count !== undefined) counts.set(status, count + 1)
      }
      for (const [status, count] of counts) this.set({ status }, count)
    }
  }))
}

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

export interface MetricsOptions {
  /** In a cluster worker: the link to the primary, through which a scrape answers for every process. */
  link?: WorkerLink
}

async function metrics (app: FastifyInstance, options: MetricsOptions): Promise<void> {
  const registry = new Registry()
  const registers = [registry]

  const contentRequests = new Counter({
    name: 'lockbox_content_requests_total',
    help: 'Content requests by workload, method, outcome (forwarded, denied, upstream_error, unavailable), reason (the problem code, or none) and status class',
    labelNames: ['workload', 'method', 'outcome', 'reason', 'status_class'] as const,
    registers
  })
  const gatewayOverhead = new Histogram({
    name: 'lockbox_content_gateway_overhead_seconds',
    help: 'Time from a content request\'s arrival until it is forwarded: every check and the durable access record',
    labelNames: ['workload'] as const,
    buckets: LATENCY_BUCKETS,
    registers
  })
  const upstreamResponse = new Histogram({
    name: 'lockbox_content_upstream_seconds',
    help: 'Time from forwarding a content request until the upstream\'s response head arrives',
    labelNames: ['workload'] as const,
    buckets: [...LATENCY_BUCKETS, 5, 10, 30],
    registers
  })
  const auditAppend = new Histogram({
    name: 'lockbox_audit_append_seconds',
    help: 'Time for an audit commit to become durable, by operation of its record',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers
  })
  const notifications = new Counter({
    name: 'lockbox_notifications_total',
    help: 'Notification delivery attempts by channel (email, webhook) and result (sent, retry, dead)',
    labelNames: ['channel', 'result'] as const,
    registers
  })
  const revocationLag = new Histogram({
    name: 'lockbox_revocation_lag_seconds',
    help: 'Time from a request leaving Approved (revoke, cancel, close, expiry) until this replica enforces it',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers
  })

  readAtScrape(registry, { gateway: app.gateway, stores: app.stores, now: app.now, log: app.log })

  // The lag is measured off the hot path: the event has already dropped the grant (the gateway
  // listens too); reading the request only tells when its transition happened.
  const unsubscribe = app.stores.grantEvents.subscribe(function measureRevocationLag (event) {
    const enforcedAt = app.now()
    app.stores.lockbox.getRequest(event.requestId).then((request) => {
      const at = request?.history.at(-1)?.at
      if (at !== undefined) revocationLag.observe(Math.max(0, enforcedAt - Date.parse(at)) / 1000)
    }, (err: unknown) => { app.log.debug({ err }, 'metrics: could not read an ended grant') })
  })
  app.addHook('onClose', async () => { unsubscribe() })

  const local = async (): Promise<string> => await registry.metrics() + await processMetrics().metrics()
  let exposition = local
  if (options.link !== undefined) {
    const cluster = clusterMetrics(options.link, async () => [...await registry.getMetricsAsJSON(), ...await processMetrics().getMetricsAsJSON()])
    app.addHook('onClose', async () => { cluster.stop() })
    exposition = cluster.exposition
  }

  app.decorate('metrics', {
    registry,
    contentRequests,
    gatewayOverhead,
    upstreamResponse,
    auditAppend,
    notifications,
    revocationLag,
    exposition,
    contentType: registry.contentType
  } satisfies Metrics)
}

export default fp(metrics, { name: 'metrics', dependencies: ['stores', 'clock', 'gateway'] })
