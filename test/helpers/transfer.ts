// Large transfers through a listening gateway with node:http: a download read at a chosen pace,
// and an upload generated on the fly, so neither end of the test holds the bytes.
import { request, type IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'

export interface Download {
  status: number
  headers: IncomingHttpHeaders
  /** Body bytes received so far. */
  received: () => number
  /** Settles when the response closes: whole, or cut. */
  ended: Promise<{ bytes: number, complete: boolean }>
  /** Stops reading and closes the connection from the client side. */
  abort: () => void
}

/**
 * Starts a GET and resolves at the response head. With `pauseMs`, stops reading that long after
 * each chunk, or after each `pauseEvery` bytes.
 */
export async function download (port: number, path: string, headers: Record<string, string>, options: { pauseMs?: number, pauseEvery?: number } = {}): Promise<Download> {
  return await new Promise<Download>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let bytes = 0
      const ended = new Promise<{ bytes: number, complete: boolean }>((resolve) => {
        res.on('close', () => { resolve({ bytes, complete: res.complete }) })
      })
      // A cut connection surfaces as an 'aborted' error on the response; `ended` reports it.
      res.on('error', () => {})
      let nextPause = options.pauseEvery ?? 0
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (options.pauseMs !== undefined && bytes >= nextPause) {
          nextPause = bytes + (options.pauseEvery ?? 0)
          res.pause()
          setTimeout(() => { res.resume() }, options.pauseMs)
        }
      })
      resolve({ status: res.statusCode as number, headers: res.headers, received: () => bytes, ended, abort: () => { req.destroy() } })
    })
    req.on('error', reject)
    req.end()
  })
}

/** `size` bytes streamed from one reused 64 KiB block. */
export function generatedBody (size: number): Readable {
  const block = Buffer.alloc(64 * 1024, 0x62)
  let sent = 0
  return new Readable({
    read () {
      const length = Math.min(block.length, size - sent)
      sent += length
      this.push(length > 0 ? block.subarray(0, length) : null)
    }
  })
}

/** Streams a `size`-byte body with `method` and resolves with the answer. */
export async function upload (port: number, path: string, headers: Record<string, string>, size: number, method = 'PUT'): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { ...headers, 'content-length': String(size) }, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => { chunks.push(chunk) })
      res.on('end', () => { resolve({ status: res.statusCode as number, body: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    generatedBody(size).pipe(req)
  })
}
