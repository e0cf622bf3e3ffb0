// Sends exact request bytes over a socket. inject and fetch normalise URLs (dot segments, escapes),
// so tests of path canonicalisation must bypass every client-side URL parser.
import { connect, createServer, type Socket } from 'node:net'

/** A loopback port that nothing listens on (bound once, then released): a service that is down. */
export async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  json: () => any
}

/** Sends `GET target` (or the given method) with the headers as written, and reads one response. */
export async function rawRequest (port: number, target: string, options: { method?: string, headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const headers = { host: `127.0.0.1:${port}`, connection: 'close', ...options.headers }
  const head = `${options.method ?? 'GET'} ${target} HTTP/1.1\r\n` +
    Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') + '\r\n'
  return await rawExchange(port, Buffer.from(head, 'latin1'))
}

/**
 * Writes `bytes` as they are and parses the first response, complete or cut by a close. `head`: the
 * request was a HEAD, so the response has no body whatever its content-length says.
 */
export async function rawExchange (port: number, bytes: Buffer, options: { head?: boolean } = {}): Promise<RawResponse> {
  return await new Promise<RawResponse>((resolve, reject) => {
    let received = Buffer.alloc(0)
    const socket = connect(port, '127.0.0.1', () => { socket.write(bytes) })
    // A server that neither answers nor closes fails the test instead of hanging it.
    socket.setTimeout(10_000, () => { socket.destroy(new Error(`no response within 10 s: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`)) })
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const parsed = parseResponse(received, false, options.head)
      if (parsed !== null) {
        socket.destroy()
        resolve(parsed.response)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const parsed = parseResponse(received, true)
      if (parsed === null) reject(new Error(`no HTTP response: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`))
      else resolve(parsed.response)
    })
  })
}

/** One connection kept open for several requests (keep-alive, pipelining), each written as it is. */
export interface RawConnection {
  socket: Socket
  write: (bytes: string) => void
  /** Settles once `count` responses have arrived in all (or the connection closed: then what came). */
  responses: (count: number) => Promise<RawResponse[]>
  /** Settles when the server closes the connection. */
  closed: Promise<void>
}

export async function rawConnection (port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  let received = Buffer.alloc(0)
  let ended = false
  const waiters = new Set<() => void>()
  const wake = (): void => { for (const waiter of [...waiters]) waiter() }
  socket.on('data', (chunk: Buffer) => { received = Buffer.concat([received, chunk]); wake() })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => { socket.on('close', () => { ended = true; wake(); resolve() }) })
  const parsedAll = (): RawResponse[] => {
    const out: RawResponse[] = []
    let rest = received
    for (;;) {
      const parsed = parseResponse(rest, ended)
      if (parsed === null) return out
      out.push(parsed.response)
      rest = rest.subarray(parsed.length)
      if (rest.length === 0) return out
    }
  }
  return {
    socket,
    write: (bytes) => { socket.write(Buffer.from(bytes, 'latin1')) },
    closed,
    responses: async (count) => await new Promise<RawResponse[]>((resolve) => {
      const check = (): void => {
        const all = parsedAll()
        if (all.length >= count || ended) {
          waiters.delete(check)
          resolve(all)
        }
      }
      waiters.add(check)
      check()
    })
  }
}

/** The response in `raw` once it is complete (or, at the close, whatever arrived), and its length; null before that. */
function parseResponse (raw: Buffer, closed: boolean, head = false): { response: RawResponse, length: number } | null {
  const split = raw.indexOf('\r\n\r\n')
  if (split === -1) return null
  const [statusLine, ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body: Buffer | null = raw.subarray(split + 4)
  let length = raw.length
  if (head) {
    body = Buffer.alloc(0)
    length = split + 4
  } else if (headers['transfer-encoding'] === 'chunked') {
    const chunked = dechunk(body)
    body = chunked?.body ?? null
    if (chunked !== null) length = split + 4 + chunked.length
  } else if (headers['content-length'] !== undefined) {
    const size = Number(headers['content-length'])
    body = body.length >= size ? body.subarray(0, size) : null
    length = split + 4 + size
  } else if (!closed) {
    body = null
  }
  if (body === null) return null
  const text = body.toString('utf8')
  return { response: { status: Number((statusLine as string).split(' ')[1]), headers, body: text, json: () => JSON.parse(text) }, length }
}

/** The body of a complete chunked encoding and the bytes it took, or null while the last chunk has not arrived. */
function dechunk (body: Buffer): { body: Buffer, length: number } | null {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = body.indexOf('\r\n', at)
    if (eol === -1) return null
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16)
    if (size === 0) return body.length < eol + 4 ? null : { body: Buffer.concat(parts), length: eol + 4 }
    if (body.length < eol + 2 + size + 2) return null
    parts.push(body.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}
