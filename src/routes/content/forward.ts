// Forwarding a checked content request: one exchange on a bounded undici pool per workload, the
// upstream's answer written straight to the client's response. No stream sits between the two, so
// bytes are counted and backpressure honoured with a callback per chunk rather than a pipe chain
// (the profile showed the proxy path itself, not the checks, as the gateway's largest cost).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { FastifyReply } from 'fastify'
import { Pool, type Dispatcher } from 'undici'

export function upstreamPool (origin: string, timeoutMs: number): Pool {
  return new Pool(origin, {
    // Bounded: a burst of clients queues here instead of opening a socket each on the upstream.
    connections: 128,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { rejectUnauthorized: true, timeout: 5_000 }
  })
}

// Headers a client may not send upstream: its credentials, our own namespace, forwarding claims we
// did not make, and method overrides (a framework that honours one turns a read grant's GET into a
// DELETE). Our versions are added after these are removed.
const STRIPPED = /^(authorization|proxy-authorization|cookie|forwarded|x-forwarded-.*|x-real-ip|x-request-id|x-lockbox-.*|x-http-method-override|x-http-method|x-method-override)$/

// Hop-by-hop headers describe one connection, not the message (RFC 9110 §7.6.1); on the way up,
// undici writes its own `host`, and `expect` is answered by this server, not passed on.
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings'])
const REQUEST_DROPPED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'expect'])

/** The header names a Connection header lists (in flat name/value pairs): hop-by-hop as well. */
function connectionOptions (pairs: string[]): string[] {
  const listed: string[] = []
  for (let i = 0; i < pairs.length; i += 2) {
    if ((pairs[i] as string).length === 10 && (pairs[i] as string).toLowerCase() === 'connection') {
      for (const name of (pairs[i + 1] as string).toLowerCase().split(',')) listed.push(name.trim())
    }
  }
  return listed
}

/**
 * The client's headers as the upstream gets them (flat name/value pairs): end-to-end headers pass,
 * the rest are dropped, and `own` (the gateway's headers) is appended last, so no Connection header
 * can name them away.
 */
export function upstreamRequestHeaders (raw: string[], own: string[]): string[] {
  const listed = connectionOptions(raw)
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    // A name with `_` is dropped, as nginx does: CGI and WSGI servers read `X_Lockbox_Actor` as
    // `X-Lockbox-Actor`, past every check on the dashed name.
    if (REQUEST_DROPPED.has(name) || STRIPPED.test(name) || name.includes('_') || listed.includes(name)) continue
    out.push(raw[i] as string, raw[i + 1] as string)
  }
  for (const header of own) out.push(header)
  return out
}

/** Whether the client sends a body: only then is one forwarded (a bodiless request must not turn chunked). */
export function hasBody (request: IncomingMessage): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** The request body on its way up, counted chunk by chunk as undici pulls it (so with its backpressure). */
export async function * countedBody (body: IncomingMessage, count: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    count((chunk as Buffer).length)
    yield chunk as Buffer
  }
}

export interface ExchangeEvents {
  /** The upstream's response head arrived (before anything is written to the client). */
  responded: (status: number) => void
  bytes: (count: number) => void
  /** The upstream failed before any of its answer reached the client: the caller answers instead. */
  failed: (error: Error & { code?: string }) => void
  /** The upstream failed mid-body (broke off, or stalled past the body timeout): the response is cut. */
  brokeOff: (error: Error & { code?: string }) => void
}

/**
 * One upstream exchange, as an undici dispatch handler (the controller API: undici's next major
 * drops the older onConnect/onHeaders/onData callbacks). The answer goes to the client as it comes:
 * head when the head arrives, each chunk as it arrives, the upstream paused while the client's
 * socket is full. `abort` stops it from our side (client gone, grant ended).
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  /** True once the exchange ended, one way or another. */
  done = false
  private controller: Dispatcher.DispatchController | null = null
  private aborted: Error | null = null
  private readonly resume = (): void => { this.controller?.resume() }

  /** `accessId` names the access to the client (x-lockbox-access-id), as its audit records do. */
  constructor (private readonly reply: FastifyReply, private readonly workload: string, private readonly accessId: string, private readonly events: ExchangeEvents) {}

  abort (reason: Error): void {
    if (this.done || this.aborted !== null) return
    this.aborted = reason
    this.controller?.abort(reason)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.controller = controller
    // Aborted while it waited in the pool's queue.
    if (this.aborted !== null) controller.abort(this.aborted)
  }

  onResponseStart (controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    // An informational answer (103 Early Hints): the final one follows.
    if (status < 200) return
    this.events.responded(status)
    const res = this.reply.raw
    const pairs = responseHeaderPairs(controller.rawHeaders, headers)
    const named = connectionOptions(pairs)
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i] as string
      const lower = name.toLowerCase()
      if (HOP_BY_HOP.has(lower) || named.includes(lower) || lower === 'x-lockbox-access-id') continue
      let value = pairs[i + 1] as string
      // The upstream's own redirects point into /tenants; the client only knows the workload's prefix.
      if (lower === 'location' && value.startsWith('/tenants/')) value = `/${this.workload}/${value.slice(9)}`
      res.appendHeader(name, value)
    }
    res.setHeader('x-lockbox-access-id', this.accessId)
    this.reply.hijack()
    res.writeHead(status)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.events.bytes(chunk.length)
    const res = this.reply.raw
    if (res.write(chunk)) return
    controller.pause()
    res.once('drain', this.resume)
  }

  onResponseEnd (): void {
    this.done = true
    this.reply.raw.end()
  }

  // The controller is not used: undici may report an error before the exchange ever started.
  onResponseError (_controller: Dispatcher.DispatchController, error: Error): void {
    this.done = true
    // Our own abort: the client is gone or the grant ended, and whoever aborted settles the response.
    if (this.aborted !== null) return
    const res = this.reply.raw
    // Mid-body: the client must not mistake a cut body for a whole one.
    if (res.headersSent) {
      this.events.brokeOff(error)
      res.destroy()
    } else {
      this.events.failed(error)
    }
  }
}

/**
 * The upstream's response headers as flat name/value pairs: from the raw head where undici hands
 * it over (names as sent, repeats kept apart), else from the parsed object (names lower-cased).
 */
export function responseHeaderPairs (raw: Dispatcher.DispatchController['rawHeaders'], parsed: IncomingHttpHeaders): string[] {
  const pairs: string[] = []
  if (Array.isArray(raw)) {
    for (const item of raw) pairs.push(typeof item === 'string' ? item : item.toString('latin1'))
    return pairs
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (value === undefined) continue
    for (const one of Array.isArray(value) ? value : [value]) pairs.push(name, one)
  }
  return pairs
}
