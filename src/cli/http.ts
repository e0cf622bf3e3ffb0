// The CLI's HTTP client on the global fetch: JSON calls to the control plane and streamed calls to the
// content routes. An error status becomes a ProblemError with a hint, no answer an UnreachableError.
import { hintFor, ProblemError, UnreachableError, type Plane, type Problem } from './errors.js'

export type Query = Record<string, string | number | undefined>

export interface CallOptions {
  /** Bearer token; null sends no Authorization header. */
  token: string | null
  plane?: Plane
  query?: Query
  /** Sent as application/json. */
  json?: unknown
  /** Sent as is, streamed when it is a stream (uploads). */
  body?: ReadableStream<Uint8Array> | string
  headers?: Record<string, string>
  /** The caller's own cancellation (Ctrl-C on `audit tail`). */
  signal?: AbortSignal
  /** Answer error statuses instead of throwing (`fetch -i` shows them as they are). */
  acceptErrors?: boolean
}

const MAX_ERROR_BODY = 64 * 1024

export class GatewayClient {
  constructor (readonly baseUrl: string, readonly timeoutMs: number) {}

  url (path: string, query: Query = {}): URL {
    const url = new URL(this.baseUrl.replace(/\/+$/, '') + path)
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value))
    }
    return url
  }

  /**
   * Resolves once the answer's headers are in; the body is left to the caller to stream. The timeout
   * covers connecting and waiting for headers only, so a long download or a quiet live stream is
   * never cut by it.
   */
  async send (method: string, path: string, options: CallOptions): Promise<Response> {
    const url = this.url(path, options.query)
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== null) headers.authorization = `Bearer ${options.token}`
    let body = options.body
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.json)
    }
    const timeout = new AbortController()
    const timer = setTimeout(() => { timeout.abort() }, this.timeoutMs)
    const signal = options.signal === undefined ? timeout.signal : AbortSignal.any([timeout.signal, options.signal])
    let res: Response
    try {
      // duplex 'half' is what lets fetch stream a request body; the DOM typings do not know it yet.
      res = await fetch(url, { method, headers, body, signal, duplex: 'half' } as RequestInit)
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      throw unreachable(err, url, timeout.signal.aborted ? this.timeoutMs : null)
    } finally {
      clearTimeout(timer)
    }
    if (!res.ok && options.acceptErrors !== true) {
      const problem = await readProblem(res)
      throw new ProblemError(problem, hintFor(problem, options.plane ?? 'api'))
    }
    return res
  }

  async json<T> (method: string, path: string, options: CallOptions): Promise<T> {
    const res = await this.send(method, path, options)
    return await res.json() as T
  }
}

function unreachable (err: unknown, url: URL, timedOutAfter: number | null): UnreachableError {
  if (timedOutAfter !== null) return new UnreachableError(`no answer from ${url.origin} within ${timedOutAfter / 1000}s`, url.origin)
  // fetch says "fetch failed"; what went wrong (ECONNREFUSED, ENOTFOUND, "bad port") is in its cause.
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  const why = cause?.code ?? cause?.message ?? (err as Error).message
  return new UnreachableError(`cannot reach the gateway at ${url.origin} (${why})`, url.origin)
}

/** The problem+json of an error answer; a content service's own error body is made into one. */
export async function readProblem (res: Response): Promise<Problem> {
  const text = (await res.text()).slice(0, MAX_ERROR_BODY)
  let body: unknown = null
  try {
    body = JSON.parse(text)
  } catch {}
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  if (typeof fields.code === 'string' && typeof fields.detail === 'string') {
    return { ...fields, status: res.status, code: fields.code, detail: fields.detail }
  }
  const said = typeof fields.error === 'string' ? fields.error : text.trim().replace(/\n[\s\S]*$/, '')
  return { status: res.status, code: `HTTP_${res.status}`, detail: said === '' ? `${res.status} ${res.statusText}` : said }
}
