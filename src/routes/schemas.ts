// TypeBox schemas of the /v1 API: request validation, the OpenAPI document and the types the CLI
// and the admin center read answers with (api-types.ts) all come from here. Kept free of Node
// imports: the admin center's build type-checks it too.
import Type, { type TLiteral, type TSchema, type TUnion } from 'typebox'
import { AUDIT_OPERATIONS } from '../domain/audit-operations.js'
import { ACCESS_LEVELS, STATUSES, WORKLOADS } from '../domain/lockbox.js'

/** A union of string literals, typed as the tuple it is built from (so `Static<>` names each value). */
const literals = <T extends readonly string[]>(values: T): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>

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
  approverEmails: Type.Array(Type.String())
}, { $id: 'Tenant' })

export const TenantParams = Type.Object({ tenantId: TenantId })

export const TenantPatch = Type.Object({
  lockboxEnabled: Type.Optional(Type.Boolean()),
  approverEmails: Type.Optional(Type.Array(Email, { maxItems: 50, uniqueItems: true }))
}, { additionalProperties: false, minProperties: 1 })

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
  comment: Type.Union([Type.String(), Type.Null()])
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
  history: Type.Array(HistoryEntry)
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

export const DecisionBody = Type.Object({
  decision: Type.Union([Type.Literal('Approve'), Type.Literal('Deny')]),
  comment: Type.Optional(Comment)
}, { additionalProperties: false })

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
  operation: literals(AUDIT_OPERATIONS),
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

const AuditFormat = Type.Optional(Type.Union([Type.Literal('native'), Type.Literal('o365')], { description: 'o365: the Office 365 Management Activity API common schema' }))

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

export const sharedSchemas = [Problem, Tenant, ServiceRequest, LockboxRequest, AuditRecord, O365Record]
