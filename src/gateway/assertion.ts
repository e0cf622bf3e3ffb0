// The gateway assertion (API.md §5): a short EdDSA JWT the upstream can check against our JWKS to
// prove a call came through the gateway. One per grant, re-signed well before it ages out, so the
// hot path signs about once a minute per active grant rather than once per request.
import { SignJWT } from 'jose'
import type { AccessLevel, Workload } from '../domain/lockbox.js'
import type { SignedApproval } from '../domain/signed-approval.js'
import { GATEWAY_ISSUER } from './access-token.js'
import type { SigningKeys } from './signing-keys.js'

export const ASSERTION_TYPE = 'lockbox-assertion+jwt'
const LIFETIME_S = 300
const REUSE_MS = 60_000

export interface AssertionSubject {
  requestId: string
  actor: string
  tenantId: string
  workload: Workload
  scope: string
  accessLevel: AccessLevel
  /** The approvers' signatures over the grant, when it was approved with passkeys (issue 19). */
  approval?: SignedApproval | null
}

// An approved extension adds signatures the upstream needs at once: a new one is a new assertion.
const keyOf = (subject: AssertionSubject): string => `${subject.requestId}\u0000${subject.workload}\u0000${subject.approval?.extensions?.length ?? 0}`

export class AssertionSigner {
  private readonly cache = new Map<string, { jwt: string, signedAt: number }>()

  constructor (private readonly keys: SigningKeys, private readonly now: () => number) {}

  /** A fresh assertion for this grant signed before, else undefined: the hot path's answer without a turn of the event loop. */
  cached (subject: AssertionSubject): string | undefined {
    const cached = this.cache.get(keyOf(subject))
    const now = this.now()
    return cached !== undefined && now - cached.signedAt < REUSE_MS && now >= cached.signedAt ? cached.jwt : undefined
  }

  /** A valid assertion for this grant: a fresh one signed before, else a new one. */
  assertionFor (subject: AssertionSubject): Promise<string> {
    const cached = this.cached(subject)
    return cached !== undefined ? Promise.resolve(cached) : this.sign(keyOf(subject), subject, this.now())
  }

  /** Forget a grant's assertion (it left Approved). */
  forget (requestId: string): void {
    for (const key of this.cache.keys()) if (key.startsWith(`${requestId}\u0000`)) this.cache.delete(key)
  }

  private async sign (key: string, subject: AssertionSubject, now: number): Promise<string> {
    const iat = Math.floor(now / 1000)
    const jwt = await new SignJWT({
      requestId: subject.requestId,
      actor: subject.actor,
      tenantId: subject.tenantId,
      scope: subject.scope,
      accessLevel: subject.accessLevel,
      ...(subject.approval == null ? {} : { approval: subject.approval })
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.keys.kid, typ: ASSERTION_TYPE })
      .setIssuer(GATEWAY_ISSUER)
      .setAudience(subject.workload)
      .setSubject(subject.actor)
      .setIssuedAt(iat)
      .setExpirationTime(iat + LIFETIME_S)
      .sign(this.keys.privateKey)
    this.cache.set(key, { jwt, signedAt: now })
    return jwt
  }
}
