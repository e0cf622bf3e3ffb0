// The types of the API's answers, for the clients in this repository (the CLI, the admin center):
// the `Static<>` of the schemas the gateway validates and documents them with, so none can drift.
import type { Static } from 'typebox'
import type * as Schemas from './schemas.js'

export type Problem = Static<typeof Schemas.Problem>
export type Tenant = Static<typeof Schemas.Tenant>
export type ServiceRequest = Static<typeof Schemas.ServiceRequest>
export type LockboxRequest = Static<typeof Schemas.LockboxRequest>
export type HistoryEntry = LockboxRequest['history'][number]
export type RequestStatus = Static<typeof Schemas.Status>
export type AuditRecord = Static<typeof Schemas.AuditRecord>
export type Me = Static<typeof Schemas.Me>
export type AuthConfig = Static<typeof Schemas.AuthConfig>
export type IssuedToken = Static<typeof Schemas.IssuedToken>
export type ChainVerification = Static<typeof Schemas.ChainVerification>
/** A page of a list (`pageOf`). */
export interface Page<T> { items: T[], nextCursor: string | null }
export type Delegation = Static<typeof Schemas.Delegation>
export type Grant = NonNullable<LockboxRequest['granted']>
export type Approval = LockboxRequest['approvals'][number]
export type Extension = NonNullable<LockboxRequest['extension']>
export type SignedApproval = Static<typeof Schemas.SignedApproval>
export type ApproverKey = Static<typeof Schemas.ApproverKey>
