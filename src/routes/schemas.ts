// TypeBox schemas of the /v1 API: request validation, the OpenAPI document and the types the CLI
// and the admin center read answers with (api-types.ts) all come from here. Kept free of Node
// imports: the admin center's build type-checks it too.
import Type, { type TLiteral, type TSchema, type TUnion } from 'typebox'
import { AUDIT_OPERATIONS } from '../domain/audit-operations.js'
import { ACCESS_LEVELS, STATUSES, WORKLOADS } from '../domain/lockbox.js'
import { MAX_APPROVALS_REQUIRED } from '../domain/quorum.js'
import { EXTENSION_STATUSES } from '../domain/extension.js'

/** A union of string literals, typed as the tuple it is built from (so `Static<>` names each value). */
const literals = <T extends readonly string[]>(values: T): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>
/** The same from a list typed as its union of values rather than a tuple (the audit operations). */
const literalsOf = <T extends string>(values: readonly T[]): TUnion<[TLiteral<T>]> =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<[TLiteral<T>]>

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String({ description: 'Stable upper-snake error code' })
}, { $id: 'Problem', description: 'RFC 9457 problem details' })

const ProblemRef = Type.Ref('Problem')
export const problems = (...statuses: number[]): Record<number, typeof ProblemRef> =>
  Object.fromEntries(statuses.map((s) => [s, ProblemRef]))

export const Workload = literals(WORKLOADS)
export const AccessLevel = literals(ACCESS_LEVELS)
export const Status = literals(STATUSES)

const TenantId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'Tenant id' })
const Timestamp = Type.String({ format: 'date-time' })
const NullableTimestamp = Type.Union([Timestamp, Type.Null()])
export const Comment = Type.String({ maxLength: 2000 })
const Email = Type.String({ format: 'email', maxLength: 254 })

export const Tenant = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  lockboxEnabled: Type.Boolean(),
  approverEmails: Type.Array(Type.String()),
  requireSignedApprovals: Type.Boolean({ description: 'An approval counts only with approver passkey signatures over the canonical grant (docs/security.md)' }),
  approvalsRequired: Type.Integer({ minimum: 1, maximum: MAX_APPROVALS_REQUIRED, description: 'Distinct approvers a lockbox request needs before it is Approved (default 1)' })
}, { $id: 'Tenant' })

export const TenantParams = Type.Object({ tenantId: TenantId })

export const TenantPatch = Type.Object({
  lockboxEnabled: Type.Optional(Type.Boolean()),
  approverEmails: Type.Optional(Type.Array(Email, { maxItems: 50, uniqueItems: true })),
  requireSignedApprovals: Type.Optional(Type.Boolean()),
  approvalsRequired: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_APPROVALS_REQUIRED }))
}, { additionalProperties: false, minProperties: 1 })

const UserId = Type.String({ minLength: 1, maxLength: 256, description: 'A user id (the identity token\'s sub)' })

export const Delegation = Type.Object({
  id: Type.String(),
  from: Type.String({ description: 'The approver whose approving is delegated' }),
  to: Type.String({ description: 'Who may decide for them' }),
  until: Timestamp,
  createdAt: Timestamp,
  createdBy: Type.String(),
  revokedAt: NullableTimestamp,
  revokedBy: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('Active'), Type.Literal('Revoked'), Type.Literal('Expired')])
}, { $id: 'Delegation' })

export const DelegationBody = Type.Object({
  to: UserId,
  from: Type.Optional(UserId),
  until: Type.String({ format: 'date-time', description: 'When the delegation ends (at most 90 days ahead)' })
}, { additionalProperties: false })

export const DelegationParams = Type.Object({ tenantId: TenantId, delegationId: Type.String({ minLength: 1, maxLength: 64 }) })

export const ServiceRequest = Type.Object({
  number: Type.String(),
  tenantId: Type.String(),
  title: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('Open'), Type.Literal('Closed')]),
  createdBy: Type.Object({ id: Type.String(), name: Type.String() }),
  createdAt: Timestamp,
  closedAt: NullableTimestamp
}, { $id: 'ServiceRequest' })

export const ServiceRequestBody = Type.Object({
  title: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 4000 }))
}, { additionalProperties: false })

export const ServiceRequestParams = Type.Object({ tenantId: TenantId, number: Type.String({ pattern: '^[0-9]{1,20}$' }) })

const HistoryEntry = Type.Object({
  at: Timestamp,
  action: Type.String(),
  actor: Type.Object({ id: Type.String(), role: Type.String() }),
  comment: Type.Union([Type.String(), Type.Null()]),
  onBehalfOf: Type.Optional(Type.String({ description: 'The approver a delegate decided for' }))
})

const Grant = Type.Object({
  scope: Type.String(),
  accessLevel: AccessLevel,
  duration: Type.String()
}, { description: 'Access granted: at most the scope, level and duration requested' })

const Approval = Type.Object({
  by: Type.String({ description: 'The person who approved' }),
  at: Timestamp,
  comment: Type.Union([Type.String(), Type.Null()]),
  onBehalfOf: Type.Union([Type.String(), Type.Null()], { description: 'The approver a delegate approved for' }),
  granted: Grant
})

const Extension = Type.Object({
  duration: Type.String(),
  justification: Type.String(),
  requestedAt: Timestamp,
  status: literals(EXTENSION_STATUSES),
  decisionDeadline: NullableTimestamp,
  approvals: Type.Array(Type.Object({
    by: Type.String(),
    at: Timestamp,
    comment: Type.Union([Type.String(), Type.Null()]),
    onBehalfOf: Type.Union([Type.String(), Type.Null()]),
    duration: Type.String()
  })),
  approvalsRequired: Type.Union([Type.Integer(), Type.Null()]),
  grantedDuration: Type.Union([Type.String(), Type.Null()], { description: 'The time added when approved (the shortest any approver allowed)' }),
  previousAccessEndsAt: NullableTimestamp
})

export const LockboxRequest = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  serviceRequestNumber: Type.String(),
  workload: Workload,
  scope: Type.String(),
  accessLevel: AccessLevel,
  duration: Type.String(),
  justification: Type.String(),
  status: Status,
  requester: Type.Object({ id: Type.String(), name: Type.String() }),
  createdAt: Timestamp,
  decisionDeadline: NullableTimestamp,
  accessStartsAt: NullableTimestamp,
  accessEndsAt: NullableTimestamp,
  history: Type.Array(HistoryEntry),
  approval: Type.Optional(Type.Union([Type.Null(), Type.Ref('SignedApproval')])),
  approvals: Type.Array(Approval, { description: 'The customer approvals of the request so far' }),
  approvalsRequired: Type.Union([Type.Integer(), Type.Null()], { description: 'Distinct approvers needed, fixed when the request reached the customer (null before)' }),
  granted: Type.Union([Grant, Type.Null()], { description: 'What the approvals allow together; null until approved (or when lockbox is off: exactly what was requested)' }),
  extension: Type.Union([Extension, Type.Null()], { description: 'The latest extension of the window asked for, if any' })
}, { $id: 'LockboxRequest' })

export const CreateRequestBody = Type.Object({
  tenantId: TenantId,
  serviceRequestNumber: Type.String({ minLength: 1, maxLength: 20 }),
  workload: Workload,
  duration: Type.String({ minLength: 3, maxLength: 32, description: 'ISO 8601 duration PT…H…M…S, at most LOCKBOX_MAX_ACCESS' }),
  justification: Type.String({ minLength: 1, maxLength: 2000 }),
  accessLevel: Type.Optional(AccessLevel),
  scope: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'Canonical path prefix inside the workload; default /' }))
}, { additionalProperties: false })

export const RequestParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

export const ReviewBody = Type.Object({
  decision: Type.Union([Type.Literal('Approve'), Type.Literal('Reject')]),
  comment: Type.Optional(Comment)
}, { additionalProperties: false })

const B64u = Type.String({ pattern: '^[A-Za-z0-9_-]*$', maxLength: 8192 })

/** A WebAuthn assertion as navigator.credentials.get returns it, JSON-encoded (@simplewebauthn/browser's shape). */
export const WebAuthnAssertion = Type.Object({
  id: B64u,
  rawId: B64u,
  type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: B64u,
    authenticatorData: B64u,
    signature: B64u,
    userHandle: Type.Optional(B64u)
  }),
  clientExtensionResults: Type.Optional(Type.Object({})),
  authenticatorAttachment: Type.Optional(Type.String({ maxLength: 32 }))
})

/** A WebAuthn attestation as navigator.credentials.create returns it, JSON-encoded. */
export const WebAuthnRegistration = Type.Object({
  id: B64u,
  rawId: B64u,
  type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: B64u,
    attestationObject: B64u,
    transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
    authenticatorData: Type.Optional(B64u),
    publicKey: Type.Optional(B64u),
    publicKeyAlgorithm: Type.Optional(Type.Integer())
  }),
  clientExtensionResults: Type.Optional(Type.Object({})),
  authenticatorAttachment: Type.Optional(Type.String({ maxLength: 32 }))
})

export const DecisionBody = Type.Object({
  decision: Type.Union([Type.Literal('Approve'), Type.Literal('Deny')]),
  comment: Type.Optional(Comment),
  webauthn: Type.Optional(WebAuthnAssertion),
  duration: Type.Optional(Type.String({ minLength: 3, maxLength: 32, description: 'Approve for a shorter window than requested (ISO 8601 PT…H…M…S)' })),
  scope: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'Approve a sub-path of the requested scope only' })),
  accessLevel: Type.Optional(AccessLevel),
  onBehalfOf: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Decide as the delegate of this approver (a delegation from them must be active)' }))
}, { additionalProperties: false })

export const ExtendBody = Type.Object({
  duration: Type.String({ minLength: 3, maxLength: 32, description: 'How much longer (ISO 8601 PT…H…M…S), at most LOCKBOX_MAX_ACCESS' }),
  justification: Type.String({ minLength: 1, maxLength: 2000 })
}, { additionalProperties: false })

const SignedGrant = Type.Object({
  type: Type.String(),
  requestId: Type.String(),
  tenantId: Type.String(),
  workload: Type.String(),
  scope: Type.String(),
  accessLevel: Type.String(),
  duration: Type.String(),
  requester: Type.String(),
  serviceRequestNumber: Type.String(),
  justification: Type.String()
})

const SignedExtensionGrant = Type.Object({
  type: Type.Literal('lockbox-extension/v1'),
  requestId: Type.String(),
  tenantId: Type.String(),
  extends: Type.String({ description: 'The challenge (base64url SHA-256) of the canonical grant of the approval extended' }),
  accessEndsAt: Timestamp,
  duration: Type.String({ description: 'The time added to accessEndsAt' }),
  requester: Type.String(),
  justification: Type.String(),
  requestedAt: Timestamp
}, { description: 'What an approver signs to extend a window (docs/security.md)' })

function proofsOver<T extends TSchema> (grant: T) {
  return Type.Array(Type.Object({
    kid: Type.String(),
    approver: Type.String(),
    authenticatorData: Type.String(),
    clientDataJSON: Type.String(),
    signature: Type.String(),
    approvedAt: Timestamp,
    grant: Type.Optional(grant)
  }))
}

export const SignedApproval = Type.Object({
  grant: SignedGrant,
  proofs: proofsOver(SignedGrant),
  extensions: Type.Optional(Type.Array(Type.Object({
    grant: SignedExtensionGrant,
    proofs: proofsOver(SignedExtensionGrant),
    required: Type.Integer({ description: 'Distinct approvers the extension needed' })
  }), { description: 'The extensions of the window the approvers signed since, oldest first' }))
}, { $id: 'SignedApproval', description: 'The grant the approvers signed and their WebAuthn assertions over SHA-256 of its canonical JSON' })

/** The narrowing fields of a decision, alone: what an approver will allow, to be signed. */
export const Narrowing = Type.Pick(DecisionBody, ['duration', 'scope', 'accessLevel'], { additionalProperties: false })

export const ApprovalChallenge = Type.Object({
  grant: Type.Union([SignedGrant, SignedExtensionGrant], { description: 'The canonical grant, or while an extension awaits the customer, the canonical extension' }),
  challenge: Type.String({ description: 'base64url SHA-256 of the grant\'s RFC 8785 canonical JSON' }),
  options: Type.Unknown({ description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get' })
})

export const ApproverKey = Type.Object({
  kid: Type.String(),
  approver: Type.Object({ id: Type.String(), name: Type.String() }),
  alg: Type.String(),
  createdAt: Timestamp,
  revokedAt: NullableTimestamp,
  revokedBy: Type.Union([Type.String(), Type.Null()])
}, { $id: 'ApproverKey' })

export const ApproverKeyParams = Type.Object({ tenantId: TenantId, kid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,1024}$' }) })

export const ApproverKeySet = Type.Object({
  tenantId: Type.String(),
  rpId: Type.String(),
  origins: Type.Array(Type.String()),
  keys: Type.Array(Type.Object({
    kty: Type.String(),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
    n: Type.Optional(Type.String()),
    e: Type.Optional(Type.String()),
    kid: Type.String(),
    alg: Type.String(),
    use: Type.String(),
    sub: Type.String(),
    nbf: Type.Integer(),
    exp: Type.Optional(Type.Integer())
  }))
})

export const CommentBody = Type.Object({ comment: Type.Optional(Comment) }, { additionalProperties: false })

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 }))
})

export const RequestListQuery = Type.Object({
  tenantId: Type.Optional(TenantId),
  status: Type.Optional(Status),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 }))
})

export const pageOf = <T extends TSchema>(item: T) => Type.Object({
  items: Type.Array(item),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})

export const AuditRecord = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  seq: Type.Integer(),
  time: Timestamp,
  operation: literalsOf(AUDIT_OPERATIONS),
  result: Type.String(),
  actor: Type.Object({ id: Type.String(), type: Type.String() }),
  // Rendered as stored, since `hash` covers the stored form: a record written while these could be
  // left out (a client gone before its address was read) lacks them, and must still be readable.
  clientIp: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'null when unknown (the client was gone); absent on records written by earlier versions' })),
  requestId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  workload: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  object: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  prevHash: Type.String(),
  hash: Type.String()
}, { $id: 'AuditRecord', additionalProperties: true })

export const AuditFormat = Type.Optional(Type.Union([Type.Literal('native'), Type.Literal('o365'), Type.Literal('ocsf')], { description: 'o365: the Office 365 Management Activity API common schema; ocsf: OCSF 1.3 events (docs/audit.md)' }))

export const O365Record = Type.Object({
  CreationTime: Type.String(),
  Id: Type.String(),
  Operation: Type.String(),
  OrganizationId: Type.String(),
  RecordType: Type.Integer(),
  ResultStatus: Type.String(),
  UserKey: Type.String(),
  UserType: Type.Integer(),
  Version: Type.Integer(),
  Workload: Type.String(),
  ClientIP: Type.String(),
  ObjectId: Type.String(),
  UserId: Type.String(),
  LockboxRequestId: Type.Union([Type.String(), Type.Null()]),
  LockboxSeq: Type.Integer(),
  LockboxResult: Type.String(),
  LockboxDetails: Type.Record(Type.String(), Type.Unknown()),
  LockboxPrevHash: Type.String(),
  LockboxHash: Type.String()
}, { $id: 'O365Record', description: 'Office 365 Management Activity API common schema, plus Lockbox* fields' })

export const OcsfRecord = Type.Object({
  class_uid: Type.Integer(),
  activity_id: Type.Integer(),
  type_uid: Type.Integer(),
  time: Type.Integer(),
  metadata: Type.Object({ uid: Type.String(), sequence: Type.Integer(), tenant_uid: Type.String() }, { additionalProperties: true }),
  unmapped: Type.Object({ lockbox: Type.Ref('AuditRecord') }, { additionalProperties: true })
}, { $id: 'OcsfRecord', additionalProperties: true, description: 'OCSF 1.3 Web Resources Activity (content access) or API Activity (workflow); the native record in unmapped.lockbox' })

export const AuditQuery = Type.Object({
  format: AuditFormat,
  tenantId: Type.Optional(TenantId),
  requestId: Type.Optional(Type.String({ maxLength: 64 })),
  operation: Type.Optional(Type.String({ maxLength: 1024, description: 'Comma-separated list of operations' })),
  actorId: Type.Optional(Type.String({ maxLength: 256 })),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 }))
})

export const AuditExportQuery = Type.Omit(AuditQuery, ['limit', 'cursor'])

/** GET /v1/me. */
export const Me = Type.Object({
  id: Type.String(),
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  tenantId: Type.String(),
  provider: Type.Boolean({ description: 'true for provider staff (tid = LOCKBOX_PROVIDER_TENANT_ID)' }),
  roles: Type.Array(Type.String(), { description: 'Only the roles that count for the caller\'s organisation' })
})

const Url = Type.String({ format: 'uri' })
/** GET /v1/auth/config. */
export const AuthConfig = Type.Object({
  issuer: Type.String(),
  name: Type.String({ description: 'What the sign-in button calls the provider' }),
  dev: Type.Boolean({ description: 'true: the built-in dev provider (anyone can sign in as anyone)' }),
  clientId: Type.Union([Type.String(), Type.Null()], { description: 'The public client to sign in with; null: no interactive sign-in, paste a token' }),
  scopes: Type.String(),
  authorizationEndpoint: Url,
  tokenEndpoint: Url,
  deviceAuthorizationEndpoint: Type.Union([Url, Type.Null()]),
  endSessionEndpoint: Type.Union([Url, Type.Null()])
})

/** POST /v1/requests/{id}/token. */
export const IssuedToken = Type.Object({ accessToken: Type.String(), tokenType: Type.Literal('Bearer'), expiresAt: Type.String({ format: 'date-time' }) })

/** GET /v1/audit/verify. */
export const ChainVerification = Type.Object({
  tenantId: Type.String(),
  valid: Type.Boolean(),
  records: Type.Integer(),
  headSeq: Type.Integer(),
  headHash: Type.String(),
  firstInvalidSeq: Type.Union([Type.Integer(), Type.Null()]),
  anchorSeq: Type.Optional(Type.Integer({ description: 'once retention pruned records: the seq of the last pruned one, where the walk began' })),
  invariantViolations: Type.Array(Type.Object({
    seq: Type.Integer({ description: 'the ContentAccessed record' }),
    requestId: Type.String(),
    endedBySeq: Type.Integer({ description: 'the record that ended the request before it' })
  }), { description: 'ContentAccessed records after the record that ended their request (the first 100)' }),
  invariantViolationCount: Type.Integer(),
  stateMismatches: Type.Array(Type.Object({
    requestId: Type.String(),
    storedStatus: Type.String(),
    chainStatus: Type.Union([Type.String(), Type.Null()]),
    seq: Type.Integer({ description: 'the request\'s last transition record' }),
    field: Type.String({ description: 'status, accessEndsAt or history' })
  }), { description: 'stored requests whose state their chain does not back (edited at rest)' })
})

export const sharedSchemas = [Problem, Tenant, Delegation, ServiceRequest, SignedApproval, LockboxRequest, ApproverKey, AuditRecord, O365Record, OcsfRecord]
