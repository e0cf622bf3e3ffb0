// The service side of approver passkeys (issue 19), on @simplewebauthn/server: registration options
// and their verification, authentication options whose challenge is a grant, and the check of a
// signed decision. The relying party is the admin center's origin (LOCKBOX_PUBLIC_URL).
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON
} from '@simplewebauthn/server'
import { decodeCredentialPublicKey, isoBase64URL } from '@simplewebauthn/server/helpers'
import { jwtVerify, SignJWT } from 'jose'
import { grantChallenge, verifyApprovalProof, type ApprovalProof, type ApproverJwk, type ApproverKeySet, type Signable } from '../domain/approval.js'
import { iso } from '../domain/lockbox.js'
import { publishedKeys, type ApproverKey } from '../domain/tenant.js'
import type { SigningKeys } from '../gateway/signing-keys.js'

/** ES256 (every platform), EdDSA, RS256 (Windows Hello): what node:crypto verifies from a JWK. */
const SUPPORTED_ALGORITHMS = [-7, -8, -257]
const REGISTRATION_TYPE = 'lockbox-passkey-registration+jwt'
const REGISTRATION_LIFETIME_S = 300
const TIMEOUT_MS = 120_000

export interface RelyingParty {
  /** The WebAuthn rpId: the host name of the admin center. */
  id: string
  name: string
  origins: string[]
}

export function relyingPartyOf (publicUrl: string): RelyingParty {
  const url = new URL(publicUrl)
  return { id: url.hostname, name: 'Lockbox Gateway', origins: [url.origin] }
}

export interface Registrant { id: string, name: string, tenantId: string }

export class PasskeyError extends Error {
  override readonly name = 'PasskeyError'
}

/**
 * Registration options. The challenge is a short JWT the gateway signs naming who registers where,
 * so any replica can verify the response without having stored anything.
 */
export async function registrationOptions (
  rp: RelyingParty, keys: SigningKeys, who: Registrant, existing: ApproverKey[], now: number
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const iat = Math.floor(now / 1000)
  const challenge = await new SignJWT({ tid: who.tenantId })
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.kid, typ: REGISTRATION_TYPE })
    .setSubject(who.id)
    .setIssuedAt(iat)
    .setExpirationTime(iat + REGISTRATION_LIFETIME_S)
    .sign(keys.privateKey)
  return await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: who.name,
    userID: new TextEncoder().encode(who.id),
    challenge: new TextEncoder().encode(challenge),
    timeout: TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.filter((k) => k.approver.id === who.id && k.revokedAt === null).map((k) => ({ id: k.kid })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS
  })
}

async function challengeNamesRegistrant (keys: SigningKeys, who: Registrant, challenge: string, now: number): Promise<boolean> {
  try {
    const jwt = new TextDecoder().decode(isoBase64URL.toBuffer(challenge))
    const { payload } = await jwtVerify(jwt, async (header) => {
      const key = keys.publicKey(header.kid ?? '')
      if (key === undefined) throw new PasskeyError('unknown key')
      return key
    }, { typ: REGISTRATION_TYPE, algorithms: ['EdDSA'], currentDate: new Date(now) })
    return payload.sub === who.id && payload.tid === who.tenantId
  } catch {
    return false
  }
}

/** COSE (RFC 9053) to JWK (RFC 7517) for the three algorithms registration allows. */
export function coseToJwk (cose: Uint8Array<ArrayBuffer>): { jwk: Record<string, string>, alg: ApproverJwk['alg'] } {
  const key = decodeCredentialPublicKey(cose) as unknown as Map<number, number | Uint8Array<ArrayBuffer>>
  const b64 = (label: number): string => isoBase64URL.fromBuffer(key.get(label) as Uint8Array<ArrayBuffer>)
  const kty = key.get(1)
  const alg = key.get(3)
  if (kty === 2 && alg === -7 && key.get(-1) === 1) return { jwk: { kty: 'EC', crv: 'P-256', x: b64(-2), y: b64(-3) }, alg: 'ES256' }
  if (kty === 1 && alg === -8 && key.get(-1) === 6) return { jwk: { kty: 'OKP', crv: 'Ed25519', x: b64(-2) }, alg: 'EdDSA' }
  if (kty === 3 && alg === -257) return { jwk: { kty: 'RSA', n: b64(-1), e: b64(-2) }, alg: 'RS256' }
  /* c8 ignore next -- verifyRegistrationResponse already refused any algorithm outside SUPPORTED_ALGORITHMS */
  throw new PasskeyError(`unsupported credential key (kty ${String(kty)}, alg ${String(alg)})`)
}

/** A verified registration as the key to store; throws PasskeyError when it is not one. */
export async function verifyRegistration (
  rp: RelyingParty, keys: SigningKeys, who: Registrant, response: RegistrationResponseJSON, now: number
): Promise<ApproverKey> {
  let verified
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: async (challenge) => await challengeNamesRegistrant(keys, who, challenge, now),
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      requireUserVerification: true,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS
    })
  } catch (err) {
    throw new PasskeyError(`registration refused: ${(err as Error).message}`)
  }
  /* c8 ignore next -- the library throws on every failure it finds; a false without a throw is its guard */
  if (!verified.verified) throw new PasskeyError('registration refused')
  const { credential } = verified.registrationInfo
  const { jwk, alg } = coseToJwk(credential.publicKey)
  return {
    kid: credential.id,
    approver: { id: who.id, name: who.name },
    jwk,
    alg,
    cosePublicKey: isoBase64URL.fromBuffer(credential.publicKey),
    transports: credential.transports ?? [],
    createdAt: iso(now),
    revokedAt: null,
    revokedBy: null
  }
}

/** Authentication options whose challenge is the grant (or extension): only the approver's own live keys may answer. */
export async function approvalOptions (rp: RelyingParty, grant: Signable, mine: ApproverKey[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return await generateAuthenticationOptions({
    rpID: rp.id,
    challenge: isoBase64URL.toBuffer(grantChallenge(grant)),
    allowCredentials: mine.map((k) => ({ id: k.kid, transports: k.transports as never })),
    userVerification: 'required',
    timeout: TIMEOUT_MS
  })
}

/**
 * Checks a signed decision with @simplewebauthn/server against the approver's own live key, then
 * turns it into the proof that travels downstream and checks that too, with the very function the
 * content services and the offline verifier run: what the gateway accepts, they accept.
 */
export async function verifyApproval<G extends Signable> (
  rp: RelyingParty, tenantId: string, grant: G, approverId: string, keys: ApproverKey[], response: AuthenticationResponseJSON, now: number
): Promise<ApprovalProof<G>> {
  const key = keys.find((k) => k.kid === response.id && k.approver.id === approverId && k.revokedAt === null)
  if (key === undefined) throw new PasskeyError('the assertion is not from one of your registered passkeys')
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: grantChallenge(grant),
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      // Counters are not tracked: the challenge is the grant itself, so a replayed assertion can
      // only ever approve the very grant it already approved.
      credential: { id: key.kid, publicKey: isoBase64URL.toBuffer(key.cosePublicKey), counter: 0 },
      requireUserVerification: true
    })
    /* c8 ignore next -- the library throws on every failure it finds; a false without a throw is its guard */
    if (!verified.verified) throw new PasskeyError('signature does not verify')
  } catch (err) {
    throw new PasskeyError(`signed approval refused: ${(err as Error).message}`)
  }
  const proof: ApprovalProof<G> = {
    kid: key.kid,
    approver: approverId,
    authenticatorData: response.response.authenticatorData,
    clientDataJSON: response.response.clientDataJSON,
    signature: response.response.signature,
    approvedAt: iso(now)
  }
  const check = verifyApprovalProof(proof, grant, keySet(rp, tenantId, keys))
  /* c8 ignore next -- the library checked the same things above; a disagreement would be a bug in one of them */
  if (!check.ok) throw new PasskeyError(`signed approval refused: ${check.reason}`)
  return proof
}

/** The published key set of a tenant. */
export function keySet (rp: RelyingParty, tenantId: string, keys: ApproverKey[]): ApproverKeySet {
  return { tenantId, rpId: rp.id, origins: rp.origins, keys: publishedKeys(keys) }
}
