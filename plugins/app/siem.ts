// Pushes the audit log to the SIEM sinks the config names (Splunk HEC, syslog over TCP/TLS), each on
// its own forwarder with a durable per-tenant cursor in the store, and reports their delivery in
// /metrics. Nothing runs when no sink is configured.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram } from 'prom-client'
import type { Config, SiemConfig } from '../../config/schema.js'
import type { AuditRecord } from '../../src/domain/audit.js'
import { renderRecord } from '../../src/routes/v1/audit.js'
import { SiemForwarder, type SiemSink } from '../../src/siem/forwarder.js'
import { hecSink } from '../../src/siem/hec.js'
import { syslogSink } from '../../src/siem/syslog.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** One per configured sink; empty when none is. */
    siemForwarders: SiemForwarder[]
  }
}

/** The sinks a config names, each rendering records in its format. */
export function siemSinks (siem: SiemConfig | undefined): SiemSink[] {
  if (siem === undefined) return []
  const render = renderRecord(siem.format) as (record: AuditRecord) => object
  const ca = siem.ca ?? undefined
  const sinks: SiemSink[] = []
  if (siem.hecUrl !== null) sinks.push(hecSink({ url: siem.hecUrl, token: siem.hecToken as string, render, sourcetype: `lockbox:${siem.format}`, ca }))
  if (siem.syslogUrl !== null) sinks.push(syslogSink({ url: siem.syslogUrl, render, ca }))
  return sinks
}

async function siem (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const sinks = siemSinks(config.siem)
  app.decorate('siemForwarders', [] as SiemForwarder[])
  if (sinks.length === 0) return
  const registers = [app.metrics.registry]
  const delivered = new Counter({ name: 'lockbox_siem_delivered_records_total', help: 'Audit records a SIEM sink acknowledged (a record resent after a failure counts again)', labelNames: ['sink'], registers })
  const failures = new Counter({ name: 'lockbox_siem_failures_total', help: 'Failed SIEM deliveries (each is retried from the cursor, with backoff)', labelNames: ['sink'], registers })
  const delay = new Histogram({
    name: 'lockbox_siem_delivery_seconds',
    help: 'From an audit record\'s commit to the SIEM sink acknowledging it',
    labelNames: ['sink'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300],
    registers
  })
  for (const sink of sinks) {
    const forwarder = new SiemForwarder({
      sink,
      cursors: app.stores.siemCursors,
      audit: app.stores.audit,
      tenants: () => app.tenants.ids(),
      // Leases and retries run on the real clock, whatever clock the app's records carry.
      now: Date.now,
      log: app.log,
      onDelivered: (count, lagsMs) => {
        delivered.inc({ sink: sink.name }, count)
        for (const ms of lagsMs) delay.observe({ sink: sink.name }, Math.max(0, ms) / 1000)
      },
      onFailure: () => { failures.inc({ sink: sink.name }) }
    })
    app.siemForwarders.push(forwarder)
  }
  const lags = (): Array<{ sink: string, records: number, seconds: number }> => app.siemForwarders.map((f) => ({ sink: f.sink, ...f.lag() }))
  // eslint-disable-next-line no-new -- registered with the registry, read at scrape time
  new Gauge({
    name: 'lockbox_siem_lag_records',
    help: 'Audit records committed but not yet acknowledged by the SIEM sink (tenants this replica delivers)',
    labelNames: ['sink'],
    registers,
    collect () { for (const lag of lags()) this.set({ sink: lag.sink }, lag.records) }
  })
  // eslint-disable-next-line no-new -- registered with the registry, read at scrape time
  new Gauge({
    name: 'lockbox_siem_lag_seconds',
    help: 'How long the oldest audit record not yet acknowledged by the SIEM sink has waited',
    labelNames: ['sink'],
    registers,
    collect () { for (const lag of lags()) this.set({ sink: lag.sink }, lag.seconds) }
  })
  app.addHook('onReady', async () => { for (const forwarder of app.siemForwarders) forwarder.start() })
  app.addHook('preClose', async () => { await Promise.all(app.siemForwarders.map(async (forwarder) => { await forwarder.stop() })) })
}

export default fp(siem, { name: 'siem', dependencies: ['stores', 'tenants', 'metrics'] })
