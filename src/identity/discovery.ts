// The identity provider's OpenID Provider Metadata (OpenID Connect Discovery 1.0), read from
// `<issuer>/.well-known/openid-configuration`: where its keys are and where clients sign in.
import { Unavailable } from '../errors.js'

export interface ProviderMetadata {
  issuer: string
  jwksUri: string
  authorizationEndpoint: string
  tokenEndpoint: string
  /** RFC 8628; null when the provider does not offer the device flow. */
  deviceAuthorizationEndpoint: string | null
  /** RP-initiated logout; null when the provider does not offer it. */
  endSessionEndpoint: string | null
}

export interface Discovery {
  issuer: string
  /** The metadata, fetched once and cached; a failure is remembered for a cooldown, then retried. */
  metadata: () => Promise<ProviderMetadata>
}

export interface DiscoveryOptions {
  /** How long a failed fetch is answered from memory before the next try (default 30 s). */
  cooldownMs?: number
  timeoutMs?: number
  now?: () => number
}

/** The document is not what a provider for this issuer would publish: never trusted, never retried sooner. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError'
}

export function discoveryUrl (issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
}

export function openDiscovery (issuer: string, options: DiscoveryOptions = {}): Discovery {
  const { cooldownMs = 30_000, timeoutMs = 5_000, now = Date.now } = options
  let cached: Promise<ProviderMetadata> | null = null
  let failedAt: number | null = null
  return {
    issuer,
    async metadata () {
      if (cached === null || (failedAt !== null && now() - failedAt >= cooldownMs)) {
        failedAt = null
        const attempt = fetchMetadata(issuer, timeoutMs)
        cached = attempt
        attempt.catch(() => { if (cached === attempt) failedAt = now() })
      }
      try {
        return await cached
      } catch (err) {
        throw new Unavailable(`identity provider discovery failed: ${(err as Error).message}`)
      }
    }
  }
}

async function fetchMetadata (issuer: string, timeoutMs: number): Promise<ProviderMetadata> {
  const url = discoveryUrl(issuer)
  let res: Response
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' })
  } catch (err) {
    throw new DiscoveryError(`${url} unreachable (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name})`)
  }
  if (!res.ok) throw new DiscoveryError(`${url} answered ${res.status}`)
  let doc: unknown
  try {
    doc = await res.json()
  } catch {
    throw new DiscoveryError(`${url} is not JSON`)
  }
  return parseMetadata(issuer, doc, url)
}

/** The endpoints of a discovery document `doc` fetched from `url` for `issuer`, checked. */
export function parseMetadata (issuer: string, document: unknown, url = discoveryUrl(issuer)): ProviderMetadata {
  const doc = (typeof document === 'object' && document !== null ? document : {}) as Record<string, unknown>
  // Discovery §4.3: the document must name exactly the issuer it was fetched for.
  if (doc.issuer !== issuer) throw new DiscoveryError(`${url} names issuer ${JSON.stringify(doc.issuer)}, not ${issuer}`)
  const secure = new URL(issuer).protocol === 'https:'
  const endpoint = (name: string, required: boolean): string | null => {
    const value = doc[name]
    if (value === undefined && !required) return null
    let parsed: URL | null = null
    try {
      parsed = typeof value === 'string' ? new URL(value) : null
    } catch {}
    // An https issuer's endpoints are https too: a token never travels in clear because a document said so.
    if (parsed === null || !['https:', ...(secure ? [] : ['http:'])].includes(parsed.protocol)) {
      throw new DiscoveryError(`${url}: ${name} ${value === undefined ? 'missing' : 'is not a usable URL'}`)
    }
    return value as string
  }
  return {
    issuer,
    jwksUri: endpoint('jwks_uri', true) as string,
    authorizationEndpoint: endpoint('authorization_endpoint', true) as string,
    tokenEndpoint: endpoint('token_endpoint', true) as string,
    deviceAuthorizationEndpoint: endpoint('device_authorization_endpoint', false),
    endSessionEndpoint: endpoint('end_session_endpoint', false)
  }
}
