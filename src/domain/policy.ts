// Who may do what (API.md §1–3, §6): roles, tenant match, separation of duties. Pure.
import type { AuditActor } from './audit.js'
import type { ActingRole, LockboxRequest } from './lockbox.js'

export const CUSTOMER_ROLES = ['GlobalAdministrator', 'CustomerLockboxApprover'] as const
export const PROVIDER_ROLES = ['SupportEngineer', 'SupportManager', 'SecurityReader'] as const
export type CustomerRole = typeof CUSTOMER_ROLES[number]
export type ProviderRole = typeof PROVIDER_ROLES[number]
export type Role = CustomerRole | ProviderRole

/** An authenticated caller of /v1, with only the roles that count for its organisation. */
export interface Caller {
  id: string
  name: string
  email: string | null
  /** The caller's organisation: a customer tenant id, or the provider's own. */
  tenantId: string
  provider: boolean
  roles: ReadonlySet<Role>
}

/**
 * A customer role only counts for a customer tenant and a provider role only with the provider's
 * `tid`: a customer admin cannot mint themselves a SupportManager role in their own IdP.
 */
export function effectiveRoles (claimed: unknown, tid: string, providerTenantId: string): Set<Role> {
  const provider = tid === providerTenantId
  const allowed: readonly string[] = provider ? PROVIDER_ROLES : CUSTOMER_ROLES
  const roles = new Set<Role>()
  if (Array.isArray(claimed)) {
    for (const r of claimed) if (typeof r === 'string' && allowed.includes(r)) roles.add(r as Role)
  }
  return roles
}

export function isProviderStaff (c: Caller): boolean {
  return c.provider && c.roles.size > 0
}

function has (c: Caller, role: Role): boolean {
  return c.roles.has(role)
}

/** A member of the tenant's own organisation (any customer user, with or without a role). */
export function isTenantMember (c: Caller, tenantId: string): boolean {
  return !c.provider && c.tenantId === tenantId
}

/** GlobalAdministrator or CustomerLockboxApprover of this tenant. */
export function isCustomerApprover (c: Caller, tenantId: string): boolean {
  return isTenantMember(c, tenantId) && (has(c, 'GlobalAdministrator') || has(c, 'CustomerLockboxApprover'))
}

export const may = {
  readTenant: (c: Caller, tenantId: string): boolean => isTenantMember(c, tenantId) || isProviderStaff(c),
  changeTenantSettings: (c: Caller, tenantId: string): boolean => isTenantMember(c, tenantId) && has(c, 'GlobalAdministrator'),

  openServiceRequest: (c: Caller, tenantId: string): boolean => isTenantMember(c, tenantId),
  readServiceRequests: (c: Caller, tenantId: string): boolean => isTenantMember(c, tenantId) || isProviderStaff(c),
  // Provider staff who work cases close them; a SecurityReader's role is read-only.
  closeServiceRequest: (c: Caller, tenantId: string): boolean =>
    isTenantMember(c, tenantId) || has(c, 'SupportEngineer') || has(c, 'SupportManager'),

  createRequest: (c: Caller): boolean => has(c, 'SupportEngineer'),
  seeAllRequests: (c: Caller): boolean => has(c, 'SupportManager') || has(c, 'SecurityReader'),
  seeRequest: (c: Caller, r: LockboxRequest): boolean =>
    may.seeAllRequests(c) ||
    (has(c, 'SupportEngineer') && r.requester.id === c.id) ||
    isCustomerApprover(c, r.tenantId),
  review: (c: Caller): boolean => has(c, 'SupportManager'),
  decide: (c: Caller, r: LockboxRequest): boolean => isCustomerApprover(c, r.tenantId),
  cancel: (c: Caller, r: LockboxRequest): boolean => has(c, 'SupportEngineer') && r.requester.id === c.id,
  obtainToken: (c: Caller, r: LockboxRequest): boolean => has(c, 'SupportEngineer') && r.requester.id === c.id,

  readAudit: (c: Caller, tenantId: string): boolean => has(c, 'SecurityReader') || isCustomerApprover(c, tenantId),
  readAllAudit: (c: Caller): boolean => has(c, 'SecurityReader')
}

/** Separation of duties: a manager never approves or rejects a request they created. */
export function violatesSeparationOfDuties (c: Caller, r: LockboxRequest): boolean {
  return r.requester.id === c.id
}

/**
 * The narrowest filter that shows a caller every request it may see, or null when it may see none.
 * Managers and security readers see all; engineers their own; customer approvers their tenant's.
 */
export function requestVisibility (c: Caller): { tenantId?: string, requesterId?: string } | null {
  if (may.seeAllRequests(c)) return {}
  if (has(c, 'SupportEngineer')) return { requesterId: c.id }
  if (isCustomerApprover(c, c.tenantId)) return { tenantId: c.tenantId }
  return null
}

/** The role a customer acts in when deciding: the strongest one held. */
export function customerActingRole (c: Caller): ActingRole {
  if (has(c, 'GlobalAdministrator')) return 'GlobalAdministrator'
  if (has(c, 'CustomerLockboxApprover')) return 'CustomerLockboxApprover'
  return 'CustomerUser'
}

/** The audit actor for a caller acting in `role` (API.md §6 actor types). */
export function auditActor (c: Caller, role?: ActingRole): AuditActor {
  const acting = role ?? defaultActingRole(c)
  switch (acting) {
    case 'SupportEngineer':
    case 'SupportManager':
      return { id: c.id, type: acting }
    case 'GlobalAdministrator':
    case 'CustomerLockboxApprover':
      return { id: c.id, type: 'CustomerApprover' }
    case 'System':
      return { id: 'system', type: 'System' }
    default:
      return { id: c.id, type: c.provider ? 'SupportEngineer' : 'CustomerUser' }
  }
}

function defaultActingRole (c: Caller): ActingRole {
  if (!c.provider) return customerActingRole(c)
  if (has(c, 'SupportManager') && !has(c, 'SupportEngineer')) return 'SupportManager'
  return 'SupportEngineer'
}
