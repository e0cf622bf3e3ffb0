// Access tokens (API.md §4): EdDSA JWTs bound to one approved request, and their verification on the
// hot path. A cache remembers that a token's *signature and claims* verified, until its `exp`; the
// grant itself (tenant, workload, scope, method, status) is checked on every request elsewhere.
import { randomUUID } from 'node:crypto'
import { jwtVerify, SignJWT, type CryptoKey } from 'jose'
import type { AccessLevel, LockboxRequest, Workload } from '../domain/lockbox.js'
import { WORKLOADS, ACCESS_LEVELS } from '../domain/lockbox.js'
import type { SigningKeys } from './signing-keys.js'
import { approvalDigest } from '../domain/approval.js'
import { grantedAccess } from '../domain/granted-access.js'

export const ACCESS_TOKEN_TYPE = 'lockbox-access+jwt'
export const GATEWAY_ISSUER = 'urn:lockbox-gateway'
export const CONTENT_AUDIENCE = 'urn:lockbox-gateway:content'

/** Longer than any honest token (~600 bytes): refused before any parsing or crypto. */
export const MAX_TOKEN_LENGTH = 4096

export interface AccessClaims {
  /** The lockbox request the token is bound to. */
  requestId: string
  tenantId: string
  workload: Workload
  scope: string
  accessLevel: AccessLevel
  /** The requester's identity (`sub`). */
  actor: string
  jti: string
  /** Expiry, epoch ms. */
  expiresAt: number
}

export interface IssuedToken { accessToken: string, expiresAt: string, jti: string }

/** A token for an Approved request, for the access its approvers granted; `exp` never beyond `accessEndsAt`. */
export async function issueAccessToken (keys: SigningKeys, req: LockboxRequest, now: number): Promise<IssuedToken> {
  const granted = grantedAccess(req)
  const iat = Math.floor(now / 1000)
  // Rounded down, so the token never outlives the window by a fraction of a second.
  const exp = Math.floor(Date.parse(req.accessEndsAt as string) / 1000)
  const jti = randomUUID()
  const accessToken = await new SignJWT({
    requestId: req.id,
    tenantId: req.tenantId,
    workload: req.workload,
    scope: granted.scope,
    accessLevel: granted.accessLevel,
    // The approvers' signatures are too big for a bearer token: their digest, and where to read
    // them (the request, whose `approval` they are; the upstream assertion carries them whole).
    ...(req.approval == null ? {} : { approval: { digest: approvalDigest(req.approval), href: `/v1/requests/${req.id}` } })
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(GATEWAY_ISSUER)
    .setAudience(CONTENT_AUDIENCE)
    .setSubject(req.requester.id)
    .setJti(jti)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .sign(keys.privateKey)
  return { accessToken, expiresAt: new Date(exp * 1000).toISOString(), jti }
}

/** Why a token was refused; the reason goes to the audit record, never the crypto library's text. */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError'
  constructor (readonly reason: string) {
    super(reason)
  }
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

interface Header { alg?: unknown, typ?: unknown, kid?: unknown, crit?: unknown, jku?: unknown, jwk?: unknown, x5u?: unknown, x5c?: unknown }

/** Cheap structural checks that run before any crypto: shape, size, header fields. */
function precheck (token: string, keys: SigningKeys): string {
  if (token.length > MAX_TOKEN_LENGTH) throw new AccessTokenError('token too long')
  if (!COMPACT_JWS.test(token)) throw new AccessTokenError('token is not a compact JWS')
  let header: Header
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as Header
  } catch {
    throw new AccessTokenError('token header is not JSON')
  }
  if (typeof header !== 'object' || header === null) throw new AccessTokenError('token header is not an object')
  if (header.crit !== undefined) throw new AccessTokenError('token has critical header parameters')
  if (header.jku !== undefined || header.jwk !== undefined || header.x5u !== undefined || header.x5c !== undefined) {
    throw new AccessTokenError('token names its own key')
  }
  if (header.alg !== 'EdDSA') throw new AccessTokenError('token algorithm not allowed')
  if (header.typ !== ACCESS_TOKEN_TYPE) throw new AccessTokenError('not an access token')
  if (typeof header.kid !== 'string' || keys.publicKey(header.kid) === undefined) throw new AccessTokenError('unknown signing key')
  return header.kid
}

const JOSE_REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'token expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'token signature invalid'
}

function claimsOf (payload: Record<string, unknown>): AccessClaims {
  const { requestId, tenantId, workload, scope, accessLevel, sub, jti, exp } = payload
  if (typeof requestId !== 'string' || typeof tenantId !== 'string' || typeof scope !== 'string' ||
    typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number' ||
    !(WORKLOADS as readonly unknown[]).includes(workload) || !(ACCESS_LEVELS as readonly unknown[]).includes(accessLevel)) {
    throw new AccessTokenError('token claims invalid')
  }
  return { requestId, tenantId, workload: workload as Workload, scope, accessLevel: accessLevel as AccessLevel, actor: sub, jti, expiresAt: exp * 1000 }
}

export interface VerifierOptions {
  now: () => number
  /** Verified tokens remembered at most (oldest forgotten first). */
  cacheSize?: number
}

/**
 * Verifies access tokens: signature, `kid`, `alg`, `typ`, `iss`, `aud`, `exp`, `nbf`. Verified claims
 * are remembered by token string until `exp`, so a busy engineer costs one signature check, not one
 * per request.
 */
export class AccessTokenVerifier {
  private readonly cache = new Map<string, AccessClaims>()
  private readonly cacheSize: number
  private readonly now: () => number
  readonly stats = { hits: 0, misses: 0, failures: 0 }

  constructor (private readonly keys: SigningKeys, options: VerifierOptions) {
    this.now = options.now
    this.cacheSize = options.cacheSize ?? 10_000
  }

  /**
   * The claims of a token verified before and not expired since, else undefined: the hot path's
   * answer without a turn of the event loop, since a busy engineer sends one token many times.
   */
  cached (token: string): AccessClaims | undefined {
    const cached = this.cache.get(token)
    if (cached === undefined) return undefined
    if (this.now() < cached.expiresAt) {
      this.stats.hits++
      return cached
    }
    this.cache.delete(token)
    return undefined
  }

  /** The claims of a valid token (remembered ones first); rejects with AccessTokenError otherwise. */
  async verify (token: string): Promise<AccessClaims> {
    const cached = this.cached(token)
    if (cached !== undefined) return cached
    this.stats.misses++
    return await this.verifySignature(token)
  }

  private async verifySignature (token: string): Promise<AccessClaims> {
    let claims: AccessClaims
    try {
      const kid = precheck(token, this.keys)
      const { payload } = await jwtVerify(token, this.keys.publicKey(kid) as CryptoKey, {
        algorithms: ['EdDSA'],
        typ: ACCESS_TOKEN_TYPE,
        issuer: GATEWAY_ISSUER,
        audience: CONTENT_AUDIENCE,
        requiredClaims: ['exp', 'nbf', 'sub', 'jti'],
        currentDate: new Date(this.now())
      })
      claims = claimsOf(payload)
    } catch (err) {
      this.stats.failures++
      if (err instanceof AccessTokenError) throw err
      // jose names the claim of every claim validation failure.
      const { code, claim } = err as { code?: string, claim?: string }
      throw new AccessTokenError(code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? `token ${claim as string} invalid` : JOSE_REASONS[code as string] ?? 'token invalid')
    }
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string)
    this.cache.set(token, claims)
    return claims
  }
}
