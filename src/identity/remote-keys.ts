// The identity provider's signing keys, fetched from its JWKS endpoint and cached (API.md §1).
import { createRemoteJWKSet } from 'jose'

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
