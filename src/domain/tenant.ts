// Tenants and their service requests (API.md §2).

export interface Tenant {
  id: string
  displayName: string
  lockboxEnabled: boolean
  approverEmails: string[]
}

/** Settings changed through the API; they win over the tenants file. */
export interface TenantSettings {
  tenantId: string
  lockboxEnabled: boolean
  approverEmails: string[]
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

export type PublicServiceRequest = Omit<ServiceRequest, 'version'>

export function viewServiceRequest (sr: ServiceRequest): PublicServiceRequest {
  const { version: _version, ...rest } = sr
  return rest
}

/** Applies stored settings over the tenants file's entry. */
export function withSettings (tenant: Tenant, settings: TenantSettings | null): Tenant {
  if (settings === null) return tenant
  return { ...tenant, lockboxEnabled: settings.lockboxEnabled, approverEmails: settings.approverEmails }
}
