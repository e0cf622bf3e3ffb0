// Sign-in with the organisation's identity provider: the authorization-code flow with PKCE (S256),
// `state` and `nonce` checked, back to the page the user was on; renewal with the refresh token
// before the identity token expires; sign-out that ends the provider's session where it can.
import type { AuthConfig } from '../../src/routes/api-types.js'
import { currentRefreshToken, forgetToken, keepRefreshToken, keepToken } from './session.js'

/** What a sign-in in progress remembers across the trip to the provider (this tab only). */
interface Pending {
  state: string
  nonce: string
  verifier: string
  /** The hash route to come back to: the request the e-mail linked to. */
  returnTo: string
}

const PENDING_KEY = 'lockbox.signIn'
const PROVIDER_SESSION_KEY = 'lockbox.providerSession'

let config: Promise<AuthConfig | null> | null = null

/** The gateway's sign-in settings, or null when it offers no interactive sign-in. */
export async function authConfig (): Promise<AuthConfig | null> {
  config ??= fetch('/v1/auth/config', { headers: { accept: 'application/json' }, cache: 'no-store' })
    .then(async (res) => res.ok ? await res.json() as AuthConfig : null)
    .then((c) => c?.clientId === null ? null : c)
    .catch(() => { config = null; return null })
  return await config
}

function redirectUri (): string {
  return `${location.origin}/admin/`
}

function random (): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)))
}

function base64url (bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += String.fromCharCode(byte)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

async function challengeOf (verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))))
}

/** Leaves for the provider's sign-in page; comes back to `returnTo` (a hash route). */
export async function startSignIn (auth: AuthConfig, returnTo: string): Promise<void> {
  const pending: Pending = { state: random(), nonce: random(), verifier: random(), returnTo }
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending))
  const url = new URL(auth.authorizationEndpoint)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', auth.clientId as string)
  url.searchParams.set('redirect_uri', redirectUri())
  url.searchParams.set('scope', auth.scopes)
  url.searchParams.set('state', pending.state)
  url.searchParams.set('nonce', pending.nonce)
  url.searchParams.set('code_challenge', await challengeOf(pending.verifier))
  url.searchParams.set('code_challenge_method', 'S256')
  location.assign(url.href)
}

export class SignInError extends Error {}

/**
 * On the way back from the provider (`?code=…&state=…` or `?error=…`): checks the state, redeems the
 * code, checks the identity token's issuer, audience and nonce, keeps the tokens, and puts the
 * address back to the page the user came from. Null when this load is not such a return.
 */
export async function completeSignIn (): Promise<{ returnTo: string } | null> {
  const params = new URLSearchParams(location.search)
  if (!params.has('state') && !params.has('code') && !params.has('error')) return null
  const raw = sessionStorage.getItem(PENDING_KEY)
  sessionStorage.removeItem(PENDING_KEY)
  const pending = raw === null ? null : JSON.parse(raw) as Pending
  // The code and state leave the address bar (and the history) whatever happens next.
  history.replaceState(null, '', `/admin/${pending?.returnTo ?? ''}`)
  if (pending === null || params.get('state') !== pending.state) {
    throw new SignInError('This sign-in was not started in this tab (its state does not match). Sign in again.')
  }
  const error = params.get('error')
  if (error !== null) throw new SignInError(`The identity provider did not sign you in: ${params.get('error_description') ?? error}.`)
  const auth = await authConfig()
  if (auth === null) throw new SignInError('The gateway offers no sign-in with an identity provider.')
  const iss = params.get('iss')
  // RFC 9207: an answer naming another issuer is a mix-up, whatever its code.
  if (iss !== null && iss !== auth.issuer) throw new SignInError('The answer came from another identity provider. Sign in again.')
  const tokens = await tokenRequest(auth, {
    grant_type: 'authorization_code',
    code: params.get('code') ?? '',
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier
  })
  keepTokens(auth, tokens, pending.nonce)
  // Signed in at the provider: signing out here ends that session too.
  sessionStorage.setItem(PROVIDER_SESSION_KEY, '1')
  return { returnTo: pending.returnTo }
}

interface TokenAnswer {
  id_token?: string
  refresh_token?: string
  error?: string
  error_description?: string
}

async function tokenRequest (auth: AuthConfig, fields: Record<string, string>): Promise<TokenAnswer> {
  let res: Response
  try {
    res = await fetch(auth.tokenEndpoint, {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: new URLSearchParams({ client_id: auth.clientId as string, ...fields }),
      cache: 'no-store'
    })
  } catch {
    throw new SignInError('The identity provider could not be reached. Check the connection and try again.')
  }
  const body = await res.json().catch(() => ({})) as TokenAnswer
  if (!res.ok) throw new SignInError(`The identity provider refused: ${body.error_description ?? body.error ?? res.statusText}.`)
  return body
}

export function claimsOf (jwt: string): Record<string, unknown> {
  try {
    const part = (jwt.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')
    return JSON.parse(atob(part)) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** The gateway verifies the signature; the page checks what only it knows: whom it asked, and its nonce. */
function keepTokens (auth: AuthConfig, tokens: TokenAnswer, nonce: string | null): void {
  if (typeof tokens.id_token !== 'string') throw new SignInError('The identity provider returned no identity token (is the openid scope asked for?).')
  const claims = claimsOf(tokens.id_token)
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  if (claims.iss !== auth.issuer || !audience.includes(auth.clientId)) throw new SignInError('The identity token was issued by another provider or for another application.')
  if (nonce !== null && claims.nonce !== nonce) throw new SignInError('The identity token does not answer this sign-in (nonce mismatch). Sign in again.')
  keepToken(tokens.id_token)
  // A refresh answer may leave the refresh token out: the one held stays good.
  if (typeof tokens.refresh_token === 'string') keepRefreshToken(tokens.refresh_token)
}

/** Renews the identity token with the refresh token; false when there is none or the provider refuses. */
export async function renew (): Promise<boolean> {
  const refreshToken = currentRefreshToken()
  const auth = await authConfig()
  if (refreshToken === null || auth === null) return false
  try {
    keepTokens(auth, await tokenRequest(auth, { grant_type: 'refresh_token', refresh_token: refreshToken }), null)
    return true
  } catch {
    keepRefreshToken(null)
    return false
  }
}

/**
 * Forgets the tokens and, after a sign-in at the provider that supports RP-initiated logout, ends its
 * session too (the provider then sends the user back here): true when the page is leaving for it.
 * The identity token is not put in that URL: the client id says who asks.
 */
export async function signOutEverywhere (): Promise<boolean> {
  const atProvider = sessionStorage.getItem(PROVIDER_SESSION_KEY) === '1'
  forgetToken()
  sessionStorage.removeItem(PROVIDER_SESSION_KEY)
  const auth = atProvider ? await authConfig() : null
  if (auth === null || auth.endSessionEndpoint === null) return false
  const url = new URL(auth.endSessionEndpoint)
  url.searchParams.set('client_id', auth.clientId as string)
  url.searchParams.set('post_logout_redirect_uri', redirectUri())
  location.assign(url.href)
  return true
}

/** When to renew a token: a minute before it expires, or at four fifths of a shorter life. */
export function renewalDelay (token: string, now = Date.now()): number | null {
  const { exp, iat } = claimsOf(token)
  if (typeof exp !== 'number') return null
  const life = typeof iat === 'number' ? (exp - iat) * 1000 : 300_000
  return Math.max(0, exp * 1000 - now - Math.min(60_000, life / 5))
}
