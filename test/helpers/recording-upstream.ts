// A stand-in content service on 127.0.0.1:0 that records every request it sees (method, raw url,
// headers, body size) and answers a small JSON body, so a test can prove what reached the upstream
// and, just as much, what never did.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { Readable } from 'node:stream'
import type { Test } from 'tap'
import type { Config } from '../../config/schema.js'
import { startTestApp, type TestApp } from './app.js'

const BLOCK = Buffer.alloc(64 * 1024, 0x61)

/** `size` bytes as 64 KiB views of one block, produced as they are read. */
function * blocks (size: number): Generator<Buffer> {
  for (let sent = 0; sent < size; sent += BLOCK.length) yield BLOCK.subarray(0, Math.min(BLOCK.length, size - sent))
}

export interface RecordedRequest {
  method: string
  /** The request target exactly as it arrived on the wire. */
  url: string
  headers: IncomingHttpHeaders
  /** Body bytes received; counted, never kept. */
  bytes: number
}

export interface RecordingUpstream {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string
  requests: RecordedRequest[]
  /** TCP connections opened to this upstream, including any that never sent a request. */
  connections: number
  /** Requests that asked for a protocol upgrade (never answered). */
  upgrades: number
  /**
   * What the next requests get: a JSON answer (default), no answer at all, `streamBytes` bytes, or
   * the head and a first block of such a body and then a dropped connection (`break`) or nothing
   * more, the connection left open (`stall`).
   */
  mode: 'answer' | 'hang' | 'stream' | 'break' | 'stall'
  streamBytes: number
  /** Streamed answers whose connection closed before the last byte went out. */
  cutResponses: number
  close: () => Promise<void>
}

export async function startRecordingUpstream (): Promise<RecordingUpstream> {
  const sockets = new Set<Socket>()
  const upstream: RecordingUpstream = {
    url: '',
    requests: [],
    connections: 0,
    upgrades: 0,
    mode: 'answer',
    streamBytes: 50 * 1024 * 1024,
    cutResponses: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
  const server: Server = createServer((req, res) => {
    const seen: RecordedRequest = { method: req.method as string, url: req.url as string, headers: req.headers, bytes: 0 }
    upstream.requests.push(seen)
    if (upstream.mode === 'hang') return
    if (upstream.mode === 'break' || upstream.mode === 'stall') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': upstream.streamBytes })
      const stall = upstream.mode === 'stall'
      res.write(BLOCK, () => { if (!stall) setTimeout(() => { res.socket?.destroy() }, 50) })
      return
    }
    if (upstream.mode === 'stream') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': upstream.streamBytes })
      res.on('close', () => { if (!res.writableFinished) upstream.cutResponses++ })
      Readable.from(blocks(upstream.streamBytes)).pipe(res)
      return
    }
    req.on('data', (chunk: Buffer) => { seen.bytes += chunk.length })
    req.on('end', () => {
      const body = JSON.stringify({ ok: true, method: seen.method, url: seen.url, bytes: seen.bytes })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': 'recording' })
      res.end(body)
    })
  })
  server.on('connection', (socket: Socket) => {
    upstream.connections++
    sockets.add(socket)
    socket.on('close', () => { sockets.delete(socket) })
  })
  server.on('upgrade', (_req, socket: Socket) => {
    upstream.upgrades++
    socket.destroy()
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address() as { port: number }
  upstream.url = `http://127.0.0.1:${address.port}`
  return upstream
}

/** A recording upstream behind every workload and an app forwarding to it, both closed at the test's end. */
export async function startAppBehindUpstream (t: Test, config: Partial<Config> = {}): Promise<{ h: TestApp, upstream: RecordingUpstream }> {
  const upstream = await startRecordingUpstream()
  const h = await startTestApp({ config: { upstreams: { exchange: upstream.url, sharepoint: upstream.url, onedrive: upstream.url }, ...config } })
  t.teardown(async () => {
    await h.close()
    await upstream.close()
  })
  return { h, upstream }
}
