// What a request approved with passkeys carries (issue 19): the canonical grant its approvers
// signed and their proofs. Types only, free of node: the request type (lockbox.ts) names them, and
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
export interface ApprovalProof {
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
  grant?: CanonicalGrant
}

/**
 * What a request carries once approved with signatures: the grant its approvers allow together (the
 * intersection of what each allowed) and one proof per approver.
 */
export interface SignedApproval {
  grant: CanonicalGrant
  proofs: ApprovalProof[]
}
