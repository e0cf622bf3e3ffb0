// Approvals the customer can prove (issue 19): the canonical grant an approver signs, the WebAuthn
// proof of that signature, and its verification against the tenant's published approver keys.
// This file is the one definition of the signed bytes: the gateway, the built-in content services
// and the offline verifier all call it, and docs/security.md describes it byte for byte so that a
// content-service owner can recompute it without our code. Pure: node:crypto only, no I/O.
import { createHash, createPublicKey, verify as verifySignature, type JsonWebKey } from 'node:crypto'
import { canonicalJson } from './audit.js'
import { parseAccessDuration } from './duration.js'
import { parseScope, pathInScope } from './grant.js'
import type { GrantedAccess } from './granted-access.js'
import type { LockboxRequest } from './lockbox.js'
import { GRANT_TYPE, type ApprovalProof, type CanonicalGrant, type Signable, type SignedApproval } from './signed-approval.js'

// Re-exported: whoever signs or verifies approvals imports one module.
export { GRANT_TYPE, type ApprovalProof, type CanonicalGrant, type Signable, type SignedApproval }

/** The parts of a grant an approver may narrow (a shorter duration, a sub-path, read only). */
export type GrantedTerms = Pick<GrantedAccess, 'scope' | 'accessLevel' | 'duration'>

export type GrantSource = Pick<LockboxRequest,
  'id' | 'tenantId' | 'workload' | 'scope' | 'accessLevel' | 'duration' | 'requester' | 'serviceRequestNumber' | 'justification'>

/**
 * The canonical grant of a request; `granted` carries the terms an approver granted when they are
 * narrower than those asked (the one place narrowed terms enter the signed bytes).
 */
export function canonicalGrant (req: GrantSource, granted?: GrantedTerms): CanonicalGrant {
  return {
    type: GRANT_TYPE,
    requestId: req.id,
    tenantId: req.tenantId,
    workload: req.workload,
    scope: granted?.scope ?? req.scope,
    accessLevel: granted?.accessLevel ?? req.accessLevel,
    duration: granted?.duration ?? req.duration,
    requester: req.requester.id,
    serviceRequestNumber: req.serviceRequestNumber,
    justification: req.justification
  }
}

/**
 * What an approver's passkey signs: a request's grant, or an extension of its window
 * (signed-extension.ts). Each names its encoding in `type`, so one can never verify as the other.
 */

/** The exact bytes hashed: RFC 8785 canonical JSON, UTF-8. */
export function grantBytes (grant: Signable): Buffer {
  return Buffer.from(canonicalJson(grant), 'utf8')
}

/** The WebAuthn challenge of a grant: base64url (no padding) of SHA-256 over its canonical bytes. */
export function grantChallenge (grant: Signable): string {
  return createHash('sha256').update(grantBytes(grant)).digest('base64url')
}

/** A published approver key: a public JWK with its owner and validity (JWKS-style). */
export interface ApproverJwk {
  kty: string
  crv?: string
  x?: string
  y?: string
  n?: string
  e?: string
  kid: string
  alg: 'ES256' | 'EdDSA' | 'RS256'
  use: 'sig'
  /** The approver's user id. */
  sub: string
  /** Valid from (registration), epoch seconds. */
  nbf: number
  /** Valid until (revocation), epoch seconds; absent while the key is in use. */
  exp?: number
}

/** The tenant's approver keys as published at GET /v1/tenants/{id}/approver-keys. */
export interface ApproverKeySet {
  tenantId: string
  /** The WebAuthn relying party: the rpIdHash in authenticatorData must be SHA-256 of it. */
  rpId: string
  /** Origins an approval may come from (clientDataJSON.origin). */
  origins: string[]
  keys: ApproverJwk[]
}

export type ProofCheck = { ok: true } | { ok: false, reason: string }

const FLAG_USER_PRESENT = 0x01
const FLAG_USER_VERIFIED = 0x04

function decode (text: string): Buffer | null {
  return /^[A-Za-z0-9_-]*$/.test(text) ? Buffer.from(text, 'base64url') : null
}

function within (key: ApproverJwk, at: number): boolean {
  const seconds = Math.floor(at / 1000)
  return seconds >= key.nbf && (key.exp === undefined || seconds < key.exp)
}

function signatureValid (key: ApproverJwk, signed: Buffer, signature: Buffer): boolean {
  try {
    const { kid: _kid, alg, use: _use, sub: _sub, nbf: _nbf, exp: _exp, ...jwk } = key
    const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
    return verifySignature(alg === 'EdDSA' ? null : 'sha256', signed, publicKey, signature)
  } catch {
    // A malformed key or signature verifies nothing.
    return false
  }
}

/**
 * Checks one proof the way WebAuthn §7.2 does, with the grant as the expected challenge: client
 * data of type `webauthn.get` from an allowed origin, authenticator data for the relying party with
 * user presence and verification, a key of the tenant valid when the proof was accepted, and its
 * signature over authenticatorData ‖ SHA-256(clientDataJSON).
 */
export function verifyApprovalProof<G extends Signable> (proof: ApprovalProof<G>, grant: G, keys: ApproverKeySet): ProofCheck {
  const key = keys.keys.find((k) => k.kid === proof.kid)
  if (key === undefined) return { ok: false, reason: `unknown approver key ${proof.kid}` }
  if (key.sub !== proof.approver) return { ok: false, reason: `key ${proof.kid} belongs to ${key.sub}, not ${proof.approver}` }
  const approvedAt = Date.parse(proof.approvedAt)
  if (Number.isNaN(approvedAt) || !within(key, approvedAt)) return { ok: false, reason: `key ${proof.kid} was not valid at ${proof.approvedAt}` }
  const clientData = decode(proof.clientDataJSON)
  const authData = decode(proof.authenticatorData)
  const signature = decode(proof.signature)
  if (clientData === null || authData === null || signature === null || authData.length < 37) return { ok: false, reason: 'proof is not base64url WebAuthn data' }
  let client: { type?: unknown, challenge?: unknown, origin?: unknown }
  try {
    client = JSON.parse(clientData.toString('utf8'))
  } catch {
    return { ok: false, reason: 'clientDataJSON is not JSON' }
  }
  if (client.type !== 'webauthn.get') return { ok: false, reason: 'clientDataJSON is not an assertion' }
  if (client.challenge !== grantChallenge(grant)) return { ok: false, reason: 'the signed challenge is not this grant' }
  if (typeof client.origin !== 'string' || !keys.origins.includes(client.origin)) return { ok: false, reason: `origin ${String(client.origin)} is not allowed` }
  if (!authData.subarray(0, 32).equals(createHash('sha256').update(keys.rpId).digest())) return { ok: false, reason: 'authenticator data is for another relying party' }
  const flags = authData[32] as number
  if ((flags & FLAG_USER_PRESENT) === 0 || (flags & FLAG_USER_VERIFIED) === 0) return { ok: false, reason: 'the approver was not present and verified' }
  const signed = Buffer.concat([authData, createHash('sha256').update(clientData).digest()])
  if (!signatureValid(key, signed, signature)) return { ok: false, reason: 'signature does not verify' }
  return { ok: true }
}

const SAME_REQUEST = ['type', 'requestId', 'tenantId', 'workload', 'requester', 'serviceRequestNumber', 'justification'] as const

/**
 * Whether an approver who signed `signed` allowed at least `granted`: the same request, and a scope,
 * access level and duration no narrower than those granted.
 */
export function grantWithin (granted: CanonicalGrant, signed: CanonicalGrant): boolean {
  if (SAME_REQUEST.some((k) => granted[k] !== signed[k])) return false
  const inner = parseScope(granted.scope)
  const outer = parseScope(signed.scope)
  if (inner === null || outer === null || !pathInScope(inner, outer)) return false
  if (granted.accessLevel === 'readwrite' && signed.accessLevel !== 'readwrite') return false
  const grantedMs = parseAccessDuration(granted.duration)
  const signedMs = parseAccessDuration(signed.duration)
  return grantedMs !== null && signedMs !== null && grantedMs <= signedMs
}

/**
 * A request's approval meets its quorum: `required` distinct approvers, each proof valid over the
 * grant its approver signed, and each of those grants allowing at least the approval's grant.
 */
export function verifySignedApproval (approval: SignedApproval, keys: ApproverKeySet, required: number): ProofCheck {
  return verifyQuorum(approval, keys, required, grantWithin)
}

/**
 * The one quorum check of anything approvers sign (a grant, an extension): `required` distinct
 * approvers, each proof valid over what its approver signed, and each of those allowing at least
 * what was granted together (`covers(granted, signed)`).
 */
export function verifyQuorum<G extends Signable> (
  signed: { grant: G, proofs: Array<ApprovalProof<G>> }, keys: ApproverKeySet, required: number, covers: (granted: G, signed: G) => boolean
): ProofCheck {
  if (signed.grant.tenantId !== keys.tenantId) return { ok: false, reason: `grant is for tenant ${signed.grant.tenantId}` }
  const approvers = new Set<string>()
  for (const proof of signed.proofs) {
    const theirs = proof.grant ?? signed.grant
    if (!covers(signed.grant, theirs)) return { ok: false, reason: `${proof.approver} signed a grant that does not cover the access granted` }
    const check = verifyApprovalProof(proof, theirs, keys)
    if (!check.ok) return check
    approvers.add(proof.approver)
  }
  if (approvers.size < required) return { ok: false, reason: `${approvers.size} approver signature(s), ${required} required` }
  return { ok: true }
}

/** The grant a signed approval must cover: its own, with the request's asked or granted terms. */
export function approvalCovers (approval: SignedApproval, expected: CanonicalGrant): boolean {
  return canonicalJson(approval.grant) === canonicalJson(expected)
}

/** A digest of a signed approval, for carrying a reference where the whole proof is too big. */
export function approvalDigest (approval: SignedApproval): string {
  return createHash('sha256').update(canonicalJson(approval)).digest('base64url')
}
