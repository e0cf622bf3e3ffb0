// Syslog over TCP or TLS: RFC 5424 messages in RFC 6587 octet-counting frames, the record (in the
// configured format) as the JSON message, and its tenant, seq and id as structured data. Plain syslog
// has no acknowledgement: a batch counts as delivered once it was written and the connection stayed
// up for a short settle time after it. A receiver that dies reads as a closed or reset connection,
// and what was written within the settle time is sent again, from the cursor: duplicates at the
// resume point, marked by record id, instead of a loss.
import { hostname } from 'node:os'
import { connect as tcpConnect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as tlsConnect } from 'node:tls'
import type { AuditRecord } from '../domain/audit.js'
import type { SiemSink } from './forwarder.js'

export interface SyslogOptions {
  /** `tcp://host:port` or `tls://host:port`. */
  url: string
  render: (record: AuditRecord) => object
  /** How long the connection must stay up after a batch was written for it to count (ms). */
  settleMs?: number
  connectTimeoutMs?: number
  /** Trust for a tls receiver with a private CA (PEM). */
  ca?: string
}

/** RFC 5424 facility 13, log audit. */
const FACILITY = 13
/** Severity: a success is informational (6), a failure a notice (5), a refusal a warning (4). */
const SEVERITY: Record<string, number> = { Success: 6, Failure: 5, Denied: 4 }
/** The private enterprise number RFC 5612 sets aside for documentation, for our SD-ID. */
export const SD_ID = 'lockbox@32473'
const APP_NAME = 'lockbox-gateway'

/** RFC 5424 §6.3.3: `"`, `\` and `]` are escaped in a parameter value. */
const paramValue = (text: string): string => text.replace(/["\\\]]/g, (c) => '\\' + c)

/** HOSTNAME, APP-NAME and MSGID are printable US-ASCII without spaces, of bounded length. */
const header = (text: string, max: number): string => (text.replace(/[^\x21-\x7e]/g, '').slice(0, max) || '-')

/** One RFC 5424 message for a record, without its frame. */
export function syslogMessage (record: AuditRecord, render: (record: AuditRecord) => object, host: string): string {
  const pri = FACILITY * 8 + (SEVERITY[record.result] ?? 5)
  const data = `[${SD_ID} tenant="${paramValue(record.tenantId)}" seq="${record.seq}" id="${paramValue(record.id)}"]`
  return `<${pri}>1 ${record.time} ${header(host, 255)} ${APP_NAME} - ${header(record.operation, 32)} ${data} ${JSON.stringify(render(record))}`
}

/** RFC 6587 §3.4.1 octet counting: the message's length in bytes, a space, the message. */
export function octetFrame (message: string): string {
  return `${Buffer.byteLength(message)} ${message}`
}

export function syslogSink (options: SyslogOptions): SiemSink {
  const url = new URL(options.url)
  if (url.protocol !== 'tcp:' && url.protocol !== 'tls:') throw new TypeError(`syslog URL must be tcp:// or tls://, not ${url.protocol}`)
  const port = Number(url.port)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const own = hostname()
  const settleMs = options.settleMs ?? 200
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000
  let socket: Socket | null = null
  /** Counts connections lost: a batch written before a loss is not confirmed. */
  let losses = 0

  async function connection (): Promise<Socket> {
    if (socket !== null && !socket.destroyed) return socket
    const opened = await new Promise<Socket>((resolve, reject) => {
      const s = url.protocol === 'tls:'
        ? tlsConnect({ host, port, servername: host, ...(options.ca === undefined ? {} : { ca: options.ca }) })
        : tcpConnect({ host, port })
      const timer = setTimeout(() => { s.destroy(new Error(`syslog receiver did not answer within ${connectTimeoutMs} ms`)) }, connectTimeoutMs)
      const fail = (err: Error): void => {
        clearTimeout(timer)
        reject(err)
      }
      s.once('error', fail)
      s.once(url.protocol === 'tls:' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer)
        s.off('error', fail)
        resolve(s)
      })
    })
    opened.setNoDelay(true)
    opened.setKeepAlive(true, 10_000)
    // The receiver never speaks: anything it sends is read and dropped, and its end ends ours.
    opened.on('data', () => {})
    opened.on('error', () => {})
    opened.once('close', () => {
      losses++
      if (socket === opened) socket = null
    })
    opened.once('end', () => { opened.destroy() })
    socket = opened
    return opened
  }

  return {
    name: 'syslog',
    async send (records) {
      const s = await connection()
      const before = losses
      let text = ''
      for (const record of records) text += octetFrame(syslogMessage(record, options.render, own))
      // A write that fails destroys the socket, which the check below finds: its error need not be kept.
      await new Promise<void>((resolve) => { s.write(text, () => { resolve() }) })
      await sleep(settleMs)
      if (losses !== before || s.destroyed) throw new Error('the syslog connection closed before the batch was confirmed')
    },
    async close () {
      socket?.end()
      socket?.destroy()
      socket = null
    }
  }
}
