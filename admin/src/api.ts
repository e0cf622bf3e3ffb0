// Calls to the public /v1 API with the signed-in caller's token. Failures become ApiErrors carrying
// the problem+json `detail`, which the pages show as they are.
import { currentToken, forgetToken } from './session.js'

export class ApiError extends Error {
  constructor (readonly status: number, readonly code: string, detail: string) {
    super(detail)
  }
}

let sessionEnded: (detail: string) => void = () => {}

/** What happens when the gateway stops accepting the token (expired, revoked key): sign in again. */
export function onSessionEnded (handler: (detail: string) => void): void {
  sessionEnded = handler
}

export function isAbort (err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError'
}

/** Starts work nobody waits for. Pages handle their own failures; what escapes is a bug, for the console. */
export function detach (task: Promise<unknown>): void {
  task.catch((err: unknown) => { if (!isAbort(err)) console.error(err) })
}

/** The problem a failed answer carries, or a plain description when it carries none. */
export async function problemOf (res: Response): Promise<ApiError> {
  let detail = `The gateway answered ${res.status} ${res.statusText}.`
  let code = 'HTTP_' + String(res.status)
  try {
    const body = await res.json() as { detail?: unknown, code?: unknown }
    if (typeof body.detail === 'string' && body.detail !== '') detail = body.detail
    if (typeof body.code === 'string') code = body.code
  } catch {
    // Not problem+json (a proxy's error page): the status line is all there is.
  }
  return new ApiError(res.status, code, detail)
}

export interface CallOptions {
  body?: unknown
  signal?: AbortSignal
  /** Send no token (the dev routes). */
  anonymous?: boolean
  /** A 401 means the token just offered is wrong, not that a session ended (sign-in). */
  trying?: boolean
}

export async function fetchApi (method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' }
  const token = options.anonymous === true ? null : currentToken()
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: 'no-store'
    })
  } catch (err) {
    if (isAbort(err)) throw err
    throw new ApiError(0, 'NETWORK', 'The gateway could not be reached. Check the connection and try again.')
  }
  if (res.status === 401 && token !== null && options.trying !== true) {
    const problem = await problemOf(res)
    forgetToken()
    sessionEnded(problem.message)
    throw problem
  }
  return res
}

export async function api<T> (method: string, path: string, options: CallOptions = {}): Promise<T> {
  const res = await fetchApi(method, path, options)
  if (!res.ok) throw await problemOf(res)
  return await res.json() as T
}
