// Signs gateway assertions (`x-lockbox-assertion`) with a real Ed25519 key, for tests of the mock
// content services; the matching key set is what the mocks verify against.
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTVerifyGetKey } from 'jose'

export const TEST_ISSUER = 'https://gateway.lockbox.test'

export interface AssertionOverrides {
  /** Merged over the default claims; a claim set to undefined is left out. */
  claims?: Record<string, unknown>
  issuer?: string
  typ?: string
  /** Seconds since the epoch; default now. */
  issuedAt?: number
  /** Seconds after `issuedAt`; default 300. */
  lifetime?: number
}

export interface AssertionSigner {
  keys: JWTVerifyGetKey
  sign: (audience: string, tenantId: string, overrides?: AssertionOverrides) => Promise<string>
}

export async function createAssertionSigner (): Promise<AssertionSigner> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
  const jwk = { ...await exportJWK(publicKey), kid: 'test-gateway-key', alg: 'EdDSA' }
  return {
    keys: createLocalJWKSet({ keys: [jwk] }),
    async sign (audience, tenantId, overrides = {}) {
      const issuedAt = overrides.issuedAt ?? Math.floor(Date.now() / 1000)
      const claims = Object.fromEntries(Object.entries({
        requestId: 'req-0001',
        actor: 'eng-ada',
        tenantId,
        scope: '/',
        accessLevel: 'readwrite',
        ...overrides.claims
      }).filter(([, value]) => value !== undefined))
      return await new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid, typ: overrides.typ ?? 'lockbox-assertion+jwt' })
        .setIssuer(overrides.issuer ?? TEST_ISSUER)
        .setAudience(audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + (overrides.lifetime ?? 300))
        .sign(privateKey)
    }
  }
}
