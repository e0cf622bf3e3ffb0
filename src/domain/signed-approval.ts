// What a request approved with passkeys carries (issue 19): the canonical grant its approvers
// signed, the extensions they signed since, and their proofs. Types only, free of node: the request type (lockbox.ts) names them, and
// the admin center, built for the browser, type-checks that type. Signing and verifying them is
// approval.ts.
import type { AccessLevel, Workload } from './lockbox.js'

/** Names the encoding, so a future change of the signed fields can never verify as this one. */
export const GRANT_TYPE = 'lockbox-grant/v1'

/**
 * What an approver signs: the request and the access it grants. Every member is a string, so RFC
 * 8785 canonical JSON of it is simply its members sorted by name, no whitespace, JSON-escaped.
 */
export interface CanonicalGrant {
  type: typeof GRANT_TYPE
  requestId: string
  tenantId: string
  workload: Workload
  scope: string
  accessLevel: AccessLevel
  duration: string
  /** The requester's user id (`sub`). */
  requester: string
  serviceRequestNumber: string
  justification: string
}

/**
 * One approver's signature over a grant: the three parts of a WebAuthn assertion, base64url, as the
 * authenticator returned them, plus which key made it and when the gateway accepted it.
 */
export interface ApprovalProof<G extends Signable = CanonicalGrant> {
  /** The credential id (base64url): the `kid` of the key in the tenant's approver keys. */
  kid: string
  /** The approver's user id, as registered with the key. */
  approver: string
  authenticatorData: string
  clientDataJSON: string
  signature: string
  /** When the gateway accepted the decision (not signed: it places the proof in the key's validity). */
  approvedAt: string
  /**
   * The grant this approver signed: the access they allowed, which may be narrower than what was
   * asked. Absent: the approval's own grant.
   */
  grant?: G
}

/**
 * What a request carries once approved with signatures: the grant its approvers allow together (the
 * intersection of what each allowed) and one proof per approver.
 */
export interface SignedApproval {
  grant: CanonicalGrant
  proofs: ApprovalProof[]
  /**
   * The extensions of the window its approvers signed since, oldest first (signed-extension.ts):
   * together with the grant's duration they bound how long the access may last.
   */
  extensions?: SignedExtension[]
}

/** Names the encoding; a grant (lockbox-grant/v1) can never verify as an extension, nor the reverse. */
export const EXTENSION_TYPE = 'lockbox-extension/v1'

/**
 * What an approver signs to extend a window. Every member is a string, so its RFC 8785 canonical
 * JSON is its members sorted by name. The window end it extends is absolute, so the signature
 * bounds the new end by itself: `accessEndsAt` + `duration`.
 */
export interface CanonicalExtension {
  type: typeof EXTENSION_TYPE
  requestId: string
  tenantId: string
  /** The approval extended: the WebAuthn challenge (base64url SHA-256) of its canonical grant. */
  extends: string
  /** The end of the window being extended (ISO 8601, UTC, as the request showed it). */
  accessEndsAt: string
  /** The time added (ISO 8601 duration): what the approver allows, perhaps less than asked. */
  duration: string
  /** The requester's user id (`sub`). */
  requester: string
  /** The extension's own justification. */
  justification: string
  /** When the extension was asked for: one extension's signature never fits another. */
  requestedAt: string
}

/** An extension approved with signatures: what the quorum allows together and one proof per approver. */
export interface SignedExtension {
  grant: CanonicalExtension
  proofs: Array<ApprovalProof<CanonicalExtension>>
  /** The quorum the extension needed (not signed: the approval's own quorum is not either). */
  required: number
}

/** What an approver's authenticator signs: a grant, or an extension of one. */
export type Signable = CanonicalGrant | CanonicalExtension
