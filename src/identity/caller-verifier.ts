// Turns the Authorization header of a /v1 call into a Caller (API.md §1): an OIDC identity token,
// verified against the identity provider's keys, with only the roles that count for its tenant.
import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import { effectiveRoles, type Caller } from '../domain/policy.js'
import { Unauthenticated, Unavailable } from '../errors.js'

export interface CallerVerifierOptions {
  issuer: string
  audience: string
  keys: JWTVerifyGetKey
  providerTenantId: string
}

export interface CallerVerifier {
  verify (authorization: string | undefined): Promise<Caller>
}

// Asymmetric only: an HS256 token "signed" with the IdP's public key must never verify.
const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA']
const CLOCK_TOLERANCE_SECONDS = 60

// Our own tokens (API.md §4–5) carry these types; they are never identity, even if their key were trusted.
const GATEWAY_TOKEN_TYPES = new Set(['application/lockbox-access+jwt', 'application/lockbox-assertion+jwt'])

// The only words a client ever reads about a refused token: jose's own text stays inside.
const REFUSALS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'token expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'token signature invalid',
  ERR_JWKS_NO_MATCHING_KEY: 'unknown signing key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'token does not name its signing key (kid)',
  ERR_JOSE_ALG_NOT_ALLOWED: 'token algorithm not allowed',
  ERR_JOSE_NOT_SUPPORTED: 'token uses an unsupported feature',
  ERR_JWS_INVALID: 'token malformed',
  ERR_JWT_INVALID: 'token malformed'
}

const CLAIM_REFUSALS: Record<string, string> = {
  iss: 'token issuer mismatch',
  aud: 'token audience mismatch',
  nbf: 'token not yet valid',
  exp: 'token has no valid expiry (exp)'
}

// Key lookup failures that are about the token itself; any other failure to obtain keys is the provider's.
const TOKEN_KEY_FAILURES = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS'])

/** The key set could not be obtained: the caller is not at fault, so the answer is 503, not 401. */
class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable'
}

export function createCallerVerifier (options: CallerVerifierOptions): CallerVerifier {
  const { issuer, audience, keys, providerTenantId } = options

  const resolveKey: JWTVerifyGetKey = async function resolveKey (header, token) {
    // Checked before any key lookup so that a gateway token never costs a JWKS refetch.
    if (typeof header.typ === 'string' && GATEWAY_TOKEN_TYPES.has(mediaType(header.typ))) {
      throw new Unauthenticated('a lockbox access token is not an identity token')
    }
    try {
      return await keys(header, token)
    } catch (err) {
      if (TOKEN_KEY_FAILURES.has(errorCode(err))) throw err
      throw new KeySetUnavailable('identity provider key set unavailable', { cause: err })
    }
  }

  return {
    async verify (authorization) {
      const token = bearerToken(authorization)
      let claims: Record<string, unknown>
      try {
        const { payload } = await jwtVerify(token, resolveKey, {
          issuer,
          audience,
          algorithms: ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp']
        })
        claims = payload
      } catch (err) {
        throw refusal(err)
      }
      return callerFrom(claims, providerTenantId)
    }
  }
}

function bearerToken (authorization: string | undefined): string {
  const parts = (authorization ?? '').trim().split(/\s+/)
  const [scheme, token] = parts
  if (scheme === undefined || scheme === '') {
    throw new Unauthenticated('missing Authorization header: send "Authorization: Bearer <identity token>"')
  }
  if (scheme.toLowerCase() !== 'bearer') {
    throw new Unauthenticated('unsupported Authorization scheme: send "Authorization: Bearer <identity token>"')
  }
  if (token === undefined) throw new Unauthenticated('Bearer token missing')
  if (parts.length > 2) throw new Unauthenticated('malformed Authorization header: one token after "Bearer"')
  return token
}

function callerFrom (claims: Record<string, unknown>, providerTenantId: string): Caller {
  const sub = nonEmptyString(claims.sub)
  if (sub === null) throw new Unauthenticated('token has no subject (sub)')
  const tid = nonEmptyString(claims.tid)
  if (tid === null) throw new Unauthenticated('token has no tenant (tid)')
  const username = nonEmptyString(claims.preferred_username)
  const email = nonEmptyString(claims.email)
  return {
    id: sub,
    name: nonEmptyString(claims.name) ?? username ?? email ?? sub,
    email: email ?? username,
    tenantId: tid,
    provider: tid === providerTenantId,
    roles: effectiveRoles(claims.roles, tid, providerTenantId)
  }
}

function refusal (err: unknown): Error {
  if (err instanceof Unauthenticated) return err
  if (err instanceof KeySetUnavailable) return new Unavailable('identity provider unreachable')
  const code = errorCode(err)
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const claim = (err as { claim?: unknown }).claim
    return new Unauthenticated(CLAIM_REFUSALS[String(claim)] ?? 'token claims invalid')
  }
  return new Unauthenticated(REFUSALS[code] ?? 'token invalid')
}

function errorCode (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}

// RFC 7515 §4.1.9: "typ" may omit the "application/" prefix and is compared case-insensitively.
function mediaType (typ: string): string {
  const lower = typ.toLowerCase()
  return lower.includes('/') ? lower : `application/${lower}`
}

function nonEmptyString (value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}
