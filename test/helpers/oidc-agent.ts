// A minimal user agent for the dev OpenID provider's pages: plain fetch with a cookie jar, following
// redirects by hand so a test sees where the provider sends the user (the client's redirect URI).
import { createHash, randomBytes } from 'node:crypto'
import type { AuthConfig as ApiAuthConfig } from '../../src/routes/api-types.js'

export class Agent {
  readonly cookies = new Map<string, string>()

  async request (url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';') as [string]
      const at = pair.indexOf('=')
      const name = pair.slice(0, at)
      const value = pair.slice(at + 1)
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  /** Follows redirects while they stay under `within`; answers the last response and its URL. */
  async follow (url: string, within: string, init: RequestInit = {}): Promise<{ res: Response, url: string }> {
    let res = await this.request(url, init)
    let at = url
    while (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location') as string, at).href
      if (!next.startsWith(within)) return { res, url: next }
      await res.arrayBuffer()
      at = next
      res = await this.request(next)
    }
    return { res, url: at }
  }

  /** Submits the form on `page` (at `pageUrl`) whose button carries `value`, with any extra fields. */
  async submit (pageUrl: string, html: string, within: string, fields: Record<string, string>): Promise<{ res: Response, url: string }> {
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]
    if (action === undefined) throw new Error(`no form on ${pageUrl}: ${html.slice(0, 300)}`)
    const body = new URLSearchParams(hiddenFields(html))
    for (const [name, value] of Object.entries(fields)) body.set(name, value)
    return await this.follow(new URL(action.replace(/&amp;/g, '&'), pageUrl).href, within, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  }
}

function hiddenFields (html: string): Array<[string, string]> {
  return [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)].map((m) => [m[1] as string, m[2] as string])
}

export function pkce (): { verifier: string, challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export function claimsOf (jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** GET /v1/auth/config of a gateway that offers interactive sign-in: it names its public client. */
export type AuthConfig = ApiAuthConfig & { clientId: string }

export interface CodeSignIn {
  /** Where the provider sent the user back to. */
  callback: URL
  verifier: string
  state: string
  nonce: string
  redirectUri: string
}

/** The authorization-code flow with PKCE, through the provider's own sign-in page, as `user`. */
export async function signInWithCode (agent: Agent, config: AuthConfig, base: string, user: string, redirectUri = `${base}/admin/`): Promise<CodeSignIn> {
  const { verifier, challenge } = pkce()
  const state = randomBytes(16).toString('base64url')
  const nonce = randomBytes(16).toString('base64url')
  const url = new URL(config.authorizationEndpoint)
  url.search = new URLSearchParams({ response_type: 'code', client_id: config.clientId, redirect_uri: redirectUri, scope: config.scopes, state, nonce, code_challenge: challenge, code_challenge_method: 'S256' }).toString()
  const provider = `${base}/dev/oidc/`
  const { res, url: pageUrl } = await agent.follow(url.href, provider)
  if (res.status !== 200) throw new Error(`sign-in page: ${res.status} ${await res.text()}`)
  const { url: back } = await agent.submit(pageUrl, await res.text(), provider, { user })
  return { callback: new URL(back), verifier, state, nonce, redirectUri }
}

export async function redeem (config: AuthConfig, fields: Record<string, string>): Promise<{ status: number, body: Record<string, any> }> {
  const res = await fetch(config.tokenEndpoint, { method: 'POST', body: new URLSearchParams({ client_id: config.clientId, ...fields }) })
  return { status: res.status, body: await res.json() as Record<string, any> }
}
