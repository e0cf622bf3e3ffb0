// Tenants and their service requests (API.md §2).
import type { Delegation } from './delegation.js'
import type { ApproverJwk } from './approval.js'

export interface Tenant {
  id: string
  displayName: string
  lockboxEnabled: boolean
  approverEmails: string[]
  /** Issue 19: an approval counts only with approver passkey signatures over the grant. */
  requireSignedApprovals?: boolean
  /** Distinct approvers a lockbox request needs (1–5); absent: 1, today's behaviour. */
  approvalsRequired?: number
}

/**
 * An approver's registered passkey. Kept with the tenant's settings, so a registration or removal
 * and its audit record commit in one compare-and-set step, on every backend.
 */
export interface ApproverKey {
  /** The WebAuthn credential id, base64url. */
  kid: string
  approver: { id: string, name: string }
  /** The public key as a JWK (kty and its members), and its JOSE algorithm. */
  jwk: Record<string, string>
  alg: ApproverJwk['alg']
  /** The COSE public key the authenticator returned, base64url (what @simplewebauthn/server verifies with). */
  cosePublicKey: string
  transports: string[]
  createdAt: string
  revokedAt: string | null
  revokedBy: string | null
}

/** Settings changed through the API; they win over the tenants file. */
export interface TenantSettings {
  tenantId: string
  lockboxEnabled: boolean
  approverEmails: string[]
  /** Absent in settings stored before issue 19: off. */
  requireSignedApprovals?: boolean
  /** Every passkey ever registered for the tenant, revoked ones kept (their old proofs still verify). */
  approverKeys?: ApproverKey[]
  /** Absent on settings stored before quorums existed. */
  approvalsRequired?: number
  /** Current delegations of approving (see delegation.ts); absent: none. */
  delegations?: Delegation[]
  version: number
}

export type ServiceRequestStatus = 'Open' | 'Closed'

export interface ServiceRequest {
  number: string
  tenantId: string
  title: string
  description: string | null
  status: ServiceRequestStatus
  createdBy: { id: string, name: string }
  createdAt: string
  closedAt: string | null
  version: number
}

/** A tenant's service request numbers start here. */
export const FIRST_SERVICE_REQUEST_NUMBER = 100001

/**
 * The numbering rule every store keeps, atomically: the number after `last`, the tenant's counter
 * (undefined before its first number), never below FIRST_SERVICE_REQUEST_NUMBER.
 */
export function serviceRequestNumberAfter (last: number | undefined): number {
  return Math.max((last ?? 0) + 1, FIRST_SERVICE_REQUEST_NUMBER)
}

/**
 * A committed service request's number as the counter counts it (a plain decimal number: the
 * counter moves past it, so no later number repeats it), or null for one it ignores ('legacy-7').
 */
export function countedServiceRequestNumber (number: string): number | null {
  return /^\d{1,15}$/.test(number) ? Number(number) : null
}

export type PublicServiceRequest = Omit<ServiceRequest, 'version'>

export function viewServiceRequest (sr: ServiceRequest): PublicServiceRequest {
  const { version: _version, ...rest } = sr
  return rest
}

/** A tenant as the gateway runs it: the tenants file's entry with the stored settings applied. */
export type SettledTenant = Tenant & { requireSignedApprovals: boolean }

/** Applies stored settings over the tenants file's entry. */
export function withSettings (tenant: Tenant, settings: TenantSettings | null): SettledTenant {
  if (settings === null) return { ...tenant, requireSignedApprovals: tenant.requireSignedApprovals ?? false }
  const merged: SettledTenant = {
    ...tenant,
    lockboxEnabled: settings.lockboxEnabled,
    approverEmails: settings.approverEmails,
    requireSignedApprovals: settings.requireSignedApprovals ?? tenant.requireSignedApprovals ?? false
  }
  if (settings.approvalsRequired !== undefined) merged.approvalsRequired = settings.approvalsRequired
  return merged
}

/** How many distinct approvers the tenant's lockbox requests need. */
export function approvalsRequiredOf (tenant: Pick<Tenant, 'approvalsRequired'>): number {
  return tenant.approvalsRequired ?? 1
}

/** The tenant as the API shows it: every setting with its effective value. */
export function viewTenant (tenant: SettledTenant): Required<Tenant> {
  return { ...tenant, approvalsRequired: approvalsRequiredOf(tenant) }
}

/** The tenant's keys as published (JWKS-style): each with its owner and validity in epoch seconds. */
export function publishedKeys (keys: ApproverKey[]): ApproverJwk[] {
  return keys.map((k) => {
    const jwk: ApproverJwk = { ...(k.jwk as { kty: string }), kid: k.kid, alg: k.alg, use: 'sig', sub: k.approver.id, nbf: Math.floor(Date.parse(k.createdAt) / 1000) }
    if (k.revokedAt !== null) jwk.exp = Math.floor(Date.parse(k.revokedAt) / 1000)
    return jwk
  })
}
