// Sends exact request bytes over a socket. inject and fetch normalise URLs (dot segments, escapes),
// so tests of path canonicalisation must bypass every client-side URL parser.
import { connect } from 'node:net'

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

/** Writes `bytes` as they are and parses the first response, complete or cut by a close. */
export async function rawExchange (port: number, bytes: Buffer): Promise<RawResponse> {
  return await new Promise<RawResponse>((resolve, reject) => {
    let received = Buffer.alloc(0)
    const socket = connect(port, '127.0.0.1', () => { socket.write(bytes) })
    // A server that neither answers nor closes fails the test instead of hanging it.
    socket.setTimeout(10_000, () => { socket.destroy(new Error(`no response within 10 s: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`)) })
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const response = parseResponse(received, false)
      if (response !== null) {
        socket.destroy()
        resolve(response)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const response = parseResponse(received, true)
      if (response === null) reject(new Error(`no HTTP response: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`))
      else resolve(response)
    })
  })
}

/** The response in `raw` once it is complete (or, at the close, whatever arrived); null before that. */
function parseResponse (raw: Buffer, closed: boolean): RawResponse | null {
  const split = raw.indexOf('\r\n\r\n')
  if (split === -1) return null
  const [statusLine, ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body: Buffer | null = raw.subarray(split + 4)
  if (headers['transfer-encoding'] === 'chunked') {
    body = dechunk(body)
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length'])
    body = body.length >= length ? body.subarray(0, length) : null
  } else if (!closed) {
    body = null
  }
  if (body === null) return null
  const text = body.toString('utf8')
  return { status: Number((statusLine as string).split(' ')[1]), headers, body: text, json: () => JSON.parse(text) }
}

/** The body of a complete chunked encoding, or null while the last chunk has not arrived. */
function dechunk (body: Buffer): Buffer | null {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = body.indexOf('\r\n', at)
    if (eol === -1) return null
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16)
    if (size === 0) return Buffer.concat(parts)
    if (body.length < eol + 2 + size + 2) return null
    parts.push(body.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}
