// The identity provider's signing keys, fetched from its JWKS endpoint and cached (API.md §1).
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose'
import type { Discovery } from './discovery.js'

/**
 * An unknown `kid` refetches the set at most once per cooldown, so a flood of forged tokens cannot
 * turn into a flood of requests to the provider; concurrent lookups share one fetch.
 */
export function remoteKeys (jwksUrl: string): ReturnType<typeof createRemoteJWKSet> {
  return createRemoteJWKSet(new URL(jwksUrl), {
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5_000
  })
}

/** The keys at the `jwks_uri` of the provider's discovery document, looked up on first use. */
export function discoveredKeys (discovery: Discovery): JWTVerifyGetKey {
  let keys: JWTVerifyGetKey | null = null
  return async function discoveredKey (header, token) {
    // A failed discovery throws here and is retried (after its cooldown) by a later token.
    keys ??= remoteKeys((await discovery.metadata()).jwksUri)
    return await keys(header, token)
  }
}
