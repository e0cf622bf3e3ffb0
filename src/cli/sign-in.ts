// Interactive sign-in for the CLI against the organisation's identity provider (or the gateway's dev
// provider), as `az login` and `gh auth login` do: the device-authorization grant (RFC 8628) where
// the provider offers it, else the browser with a loopback redirect and PKCE (RFC 8252); and the
// refresh that keeps a profile signed in once its identity token expires.
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { LocalRefusal, UsageError } from './errors.js'
import type { GatewayClient } from './http.js'
import type { Output } from './output.js'
import type { AuthConfig } from '../routes/api-types.js'

export type { AuthConfig }

/** What a profile keeps to renew its identity token without the user. */
export interface StoredSignIn {
  issuer: string
  clientId: string
  tokenEndpoint: string
  refreshToken: string
}

export interface SignedIn {
  idToken: string
  /** Null when the provider gave none: the user signs in again once the token expires. */
  signIn: StoredSignIn | null
}

export interface SignInOptions {
  out: Output
  /** Force a flow; default: the device flow where offered, else the browser. */
  flow?: 'device' | 'browser'
  /** Opens a URL in the user's browser. */
  openBrowser: (url: string) => void
  sleep?: (ms: number) => Promise<void>
  /** The clock, epoch ms (default: Date.now): a device code's lifetime is judged by it. */
  now?: () => number
  timeoutMs?: number
}

interface TokenAnswer {
  id_token?: string
  refresh_token?: string
  error?: string
  error_description?: string
  interval?: number
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const sleepFor = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export async function authConfig (client: GatewayClient): Promise<AuthConfig> {
  const config = await client.json<AuthConfig>('GET', '/v1/auth/config', { token: null })
  if (config.clientId === null) {
    throw new UsageError('this gateway has no sign-in client (LOCKBOX_OIDC_CLIENT_ID unset)', 'pass an identity token from your provider: `lockbox login --token <jwt>`, or pipe it on stdin')
  }
  return config
}

export async function signIn (config: AuthConfig, options: SignInOptions): Promise<SignedIn> {
  const flow = options.flow ?? (config.deviceAuthorizationEndpoint === null ? 'browser' : 'device')
  if (flow === 'device') return await deviceSignIn(config, options)
  return await browserSignIn(config, options)
}

async function postForm (url: string, fields: Record<string, string>): Promise<{ status: number, body: TokenAnswer & Record<string, unknown> }> {
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', headers: { accept: 'application/json' }, body: new URLSearchParams(fields), signal: AbortSignal.timeout(30_000) })
  } catch (err) {
    throw new LocalRefusal(`cannot reach the identity provider at ${new URL(url).origin} (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name})`, 'check the network, then try again')
  }
  let body: TokenAnswer & Record<string, unknown>
  try {
    body = await res.json() as TokenAnswer & Record<string, unknown>
  } catch {
    body = { error: `HTTP ${res.status}` }
  }
  return { status: res.status, body }
}

function refused (what: string, body: TokenAnswer): LocalRefusal {
  const why = body.error_description === undefined ? body.error ?? 'no reason given' : `${body.error ?? 'error'}: ${body.error_description}`
  return new LocalRefusal(`${what} (${why})`, 'run `lockbox login` again')
}

function signedIn (config: AuthConfig, body: TokenAnswer, expectNonce: string | null): SignedIn {
  if (typeof body.id_token !== 'string') throw refused('the identity provider returned no identity token', { error: 'no id_token', error_description: 'ask for the openid scope (LOCKBOX_OIDC_SCOPES)' })
  const claims = unverifiedClaims(body.id_token)
  // The gateway verifies the signature; the client checks what only it knows: whom it asked, and the nonce it sent.
  if (claims.iss !== config.issuer) throw new LocalRefusal(`the identity token is from ${String(claims.iss)}, not ${config.issuer}`, 'run `lockbox login` again')
  if (expectNonce !== null && claims.nonce !== expectNonce) throw new LocalRefusal('the identity token does not carry the nonce this sign-in sent', 'run `lockbox login` again')
  const clientId = config.clientId as string
  const signIn = typeof body.refresh_token === 'string'
    ? { issuer: config.issuer, clientId, tokenEndpoint: config.tokenEndpoint, refreshToken: body.refresh_token }
    : null
  return { idToken: body.id_token, signIn }
}

export function unverifiedClaims (jwt: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

async function deviceSignIn (config: AuthConfig, options: SignInOptions): Promise<SignedIn> {
  const { out, sleep = sleepFor, now = Date.now } = options
  if (config.deviceAuthorizationEndpoint === null) throw new UsageError(`${config.name} does not offer the device flow`, 'sign in with the browser: `lockbox login --browser`')
  const clientId = config.clientId as string
  const started = await postForm(config.deviceAuthorizationEndpoint, { client_id: clientId, scope: config.scopes })
  const { device_code: deviceCode, user_code: userCode, verification_uri: uri, verification_uri_complete: complete } = started.body as Record<string, string | undefined>
  if (started.status !== 200 || deviceCode === undefined || userCode === undefined || uri === undefined) throw refused('the identity provider refused to start a device sign-in', started.body)
  out.notice(`To sign in, open ${uri} and enter the code ${userCode}`)
  if (complete !== undefined) out.notice(`(or open ${complete})`)
  let intervalMs = Math.max(1, Number(started.body.interval ?? 5)) * 1000
  const expiresAt = now() + Number(started.body.expires_in ?? 900) * 1000
  for (;;) {
    await sleep(intervalMs)
    if (now() > expiresAt) throw new LocalRefusal('the device code expired before the sign-in was completed', 'run `lockbox login` again, and enter the code within its lifetime')
    const polled = await postForm(config.tokenEndpoint, { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId })
    if (polled.status === 200) return signedIn(config, polled.body, null)
    if (polled.body.error === 'authorization_pending') continue
    // RFC 8628 §3.5: slow down means five seconds more between polls, from now on.
    if (polled.body.error === 'slow_down') {
      intervalMs += 5000
      continue
    }
    throw refused('the device sign-in did not complete', polled.body)
  }
}

/**
 * Opens a URL with `$BROWSER` when set (the usual convention), else the platform's own opener. A
 * failure only means the user opens the printed URL by hand.
 */
export function browserOpener (env: NodeJS.ProcessEnv): (url: string) => void {
  return (url) => {
    const [command, args] = env.BROWSER !== undefined && env.BROWSER !== '' ? [env.BROWSER, [url]] : platformOpener(url)
    const child = spawn(command, args, { stdio: 'ignore', detached: true, env })
    child.on('error', () => {})
    child.unref()
  }
}

/* c8 ignore start -- one branch per operating system; the tests run on Linux */
function platformOpener (url: string): [string, string[]] {
  if (process.platform === 'darwin') return ['open', [url]]
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""', url]]
  return ['xdg-open', [url]]
}
/* c8 ignore stop */

async function browserSignIn (config: AuthConfig, options: SignInOptions): Promise<SignedIn> {
  const { out, openBrowser, timeoutMs = 300_000 } = options
  const verifier = randomBytes(32).toString('base64url')
  const state = randomBytes(16).toString('base64url')
  const nonce = randomBytes(16).toString('base64url')
  let finish: (outcome: { code: string } | { error: string }) => void = () => {}
  const outcome = new Promise<{ code: string } | { error: string }>((resolve) => { finish = resolve })
  const server = createServer((req, res) => {
    const url = new URL(req.url as string, 'http://127.0.0.1')
    if (url.pathname !== '/callback') {
      res.writeHead(404).end()
      return
    }
    const code = url.searchParams.get('code')
    const error = url.searchParams.get('error')
    // A callback for another sign-in (or a forged one) is answered and ignored: only ours counts.
    if (url.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('This sign-in is not the one the Lockbox CLI started (state mismatch).\n')
      finish({ error: 'the answer carried another state: the sign-in was not the one started here' })
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(error === null ? 'Signed in. You can close this page and go back to the terminal.\n' : 'Sign-in failed. Go back to the terminal.\n')
    finish(code !== null ? { code } : { error: `${error ?? 'no code'}: ${url.searchParams.get('error_description') ?? ''}` })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const redirectUri = `http://127.0.0.1:${(server.address() as { port: number }).port}/callback`
  const timer = setTimeout(() => { finish({ error: 'no answer from the browser in time' }) }, timeoutMs)
  try {
    const url = new URL(config.authorizationEndpoint)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('client_id', config.clientId as string)
    url.searchParams.set('redirect_uri', redirectUri)
    url.searchParams.set('scope', config.scopes)
    url.searchParams.set('state', state)
    url.searchParams.set('nonce', nonce)
    url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'))
    url.searchParams.set('code_challenge_method', 'S256')
    out.notice(`Opening the browser to sign in with ${config.name}. If it does not open, visit:\n${url.href}`)
    openBrowser(url.href)
    const answer = await outcome
    if ('error' in answer) throw new LocalRefusal(`sign-in failed: ${answer.error}`, 'run `lockbox login` again')
    const tokens = await postForm(config.tokenEndpoint, { grant_type: 'authorization_code', code: answer.code, redirect_uri: redirectUri, code_verifier: verifier, client_id: config.clientId as string })
    if (tokens.status !== 200) throw refused('the identity provider refused the sign-in code', tokens.body)
    return signedIn(config, tokens.body, nonce)
  } finally {
    clearTimeout(timer)
    server.closeAllConnections()
    server.close()
  }
}

/** A fresh identity token from the stored refresh token (rotated when the provider rotates it). */
export async function refreshSignIn (stored: StoredSignIn): Promise<{ idToken: string, signIn: StoredSignIn }> {
  const answer = await postForm(stored.tokenEndpoint, { grant_type: 'refresh_token', refresh_token: stored.refreshToken, client_id: stored.clientId })
  if (answer.status !== 200) throw refused('your sign-in has ended and could not be renewed', answer.body)
  const config = { issuer: stored.issuer, clientId: stored.clientId, tokenEndpoint: stored.tokenEndpoint } as AuthConfig
  const renewed = signedIn(config, answer.body, null)
  return { idToken: renewed.idToken, signIn: renewed.signIn ?? stored }
}
