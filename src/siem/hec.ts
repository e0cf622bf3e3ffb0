// Splunk HTTP Event Collector: a batch is one POST of newline-separated JSON events to
// /services/collector/event with `Authorization: Splunk <token>`. Every request names this sink's
// channel; when the collector has indexer acknowledgement on, it answers with an `ackId` and the
// batch counts as delivered only once /services/collector/ack says it is indexed.
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request, type Dispatcher } from 'undici'
import type { AuditRecord } from '../domain/audit.js'
import type { SiemSink } from './forwarder.js'

export interface HecOptions {
  /** The collector's base URL (`https://splunk:8088`), or the full event endpoint. */
  url: string
  token: string
  render: (record: AuditRecord) => object
  /** `sourcetype` of the events, e.g. `lockbox:ocsf`. */
  sourcetype: string
  /** Whole request, and waiting for an acknowledgement, each at most this long (ms). */
  timeoutMs?: number
  ackPollMs?: number
  /** Trust for an https collector with a private CA (PEM). */
  ca?: string
}

const EVENT_PATH = '/services/collector/event'
const ACK_PATH = '/services/collector/ack'

/** The event endpoint: a bare collector URL gets the standard path, a full one is kept. */
export function hecEventUrl (url: string): URL {
  const parsed = new URL(url)
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = EVENT_PATH
  return parsed
}

interface HecAnswer { text?: string, code?: number, ackId?: number }

export function hecSink (options: HecOptions): SiemSink {
  const eventUrl = hecEventUrl(options.url)
  const ackUrl = new URL(ACK_PATH, eventUrl)
  const channel = randomUUID()
  ackUrl.searchParams.set('channel', channel)
  const timeoutMs = options.timeoutMs ?? 10_000
  const host = hostname()
  const dispatcher: Dispatcher = new Agent({
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { rejectUnauthorized: true, ...(options.ca === undefined ? {} : { ca: options.ca }) }
  })
  const headers = {
    authorization: `Splunk ${options.token}`,
    'content-type': 'application/json',
    'x-splunk-request-channel': channel
  }

  async function post (url: URL, body: string): Promise<HecAnswer> {
    const res = await request(url, { method: 'POST', headers, body, dispatcher, signal: AbortSignal.timeout(timeoutMs) })
    const text = await res.body.text()
    // The collector's own words, shortened: never the token, which it does not echo.
    if (res.statusCode !== 200) throw new Error(`HEC answered ${res.statusCode}: ${text.slice(0, 200)}`)
    return JSON.parse(text) as HecAnswer
  }

  async function acknowledged (ackId: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const answer = await post(ackUrl, JSON.stringify({ acks: [ackId] })) as { acks?: Record<string, boolean> }
      if (answer.acks?.[String(ackId)] === true) return
      if (Date.now() >= deadline) throw new Error(`HEC did not acknowledge batch ${ackId} within ${timeoutMs} ms`)
      await sleep(options.ackPollMs ?? 100)
    }
  }

  return {
    name: 'hec',
    async send (records) {
      let body = ''
      for (const record of records) {
        body += JSON.stringify({
          time: Date.parse(record.time) / 1000,
          host,
          source: 'lockbox-gateway',
          sourcetype: options.sourcetype,
          // Indexed fields: a search finds a tenant's records, and a resent one, without parsing events.
          fields: { lockbox_tenant: record.tenantId, lockbox_seq: record.seq, lockbox_id: record.id },
          event: options.render(record)
        }) + '\n'
      }
      const answer = await post(eventUrl, body)
      if (answer.code !== undefined && answer.code !== 0) throw new Error(`HEC refused the batch: ${String(answer.text)} (code ${answer.code})`)
      if (typeof answer.ackId === 'number') await acknowledged(answer.ackId)
    },
    async close () {
      await dispatcher.close()
    }
  }
}
