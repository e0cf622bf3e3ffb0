// Hand-made access tokens for refusal tests: signed with the gateway's real key (read from its key
// file, as an insider would) or with any other key, with whatever header and claims a test needs.
import { readFile } from 'node:fs/promises'
import { base64url, decodeJwt, importJWK, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import type { TestApp } from './app.js'

/** The gateway's signing key, as stored in its key file. */
export async function gatewayKey (h: TestApp): Promise<{ key: CryptoKey, kid: string }> {
  const set = JSON.parse(await readFile(h.config.signingKeyFile, 'utf8')) as { keys: Array<JWK & { kid: string }> }
  const jwk = set.keys[0] as JWK & { kid: string }
  return { key: await importJWK(jwk, 'EdDSA') as CryptoKey, kid: jwk.kid }
}

/**
 * A token with the claims of `like` (a real token) changed by `claims` (undefined removes one),
 * signed with `key` under `header`.
 */
export async function signToken (like: string, key: CryptoKey, header: Record<string, unknown>, claims: Record<string, unknown> = {}): Promise<string> {
  const payload = Object.fromEntries(Object.entries({ ...decodeJwt(like), ...claims }).filter(([, value]) => value !== undefined))
  return await new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: 'EdDSA', ...header }).sign(key)
}

/** A token assembled from parts, with no signature check possible: for refusals before any crypto. */
export function unsignedToken (header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  const part = (value: unknown): string => base64url.encode(JSON.stringify(value))
  return `${part(header)}.${part(payload)}.${signature}`
}
