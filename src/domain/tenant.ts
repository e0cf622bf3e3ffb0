// Tenants and their service requests (API.md §2).
import type { Delegation } from './delegation.js'

export interface Tenant {
  id: string
  displayName: string
  lockboxEnabled: boolean
  approverEmails: string[]
  /** Distinct approvers a lockbox request needs (1–5); absent: 1, today's behaviour. */
  approvalsRequired?: number
}

/** Settings changed through the API; they win over the tenants file. */
export interface TenantSettings {
  tenantId: string
  lockboxEnabled: boolean
  approverEmails: string[]
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

/** Applies stored settings over the tenants file's entry. */
export function withSettings (tenant: Tenant, settings: TenantSettings | null): Tenant {
  if (settings === null) return tenant
  const merged: Tenant = { ...tenant, lockboxEnabled: settings.lockboxEnabled, approverEmails: settings.approverEmails }
  if (settings.approvalsRequired !== undefined) merged.approvalsRequired = settings.approvalsRequired
  return merged
}

/** How many distinct approvers the tenant's lockbox requests need. */
export function approvalsRequiredOf (tenant: Pick<Tenant, 'approvalsRequired'>): number {
  return tenant.approvalsRequired ?? 1
}

/** The tenant as the API shows it: every setting with its effective value. */
export function viewTenant (tenant: Tenant): Required<Tenant> {
  return { ...tenant, approvalsRequired: approvalsRequiredOf(tenant) }
}
