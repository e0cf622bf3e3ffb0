// Service requests and tenant settings (API.md §2).
import { isFinal, effectiveStatus, transition, type ActingRole, type LockboxRequest } from '../domain/lockbox.js'
import { customerActingRole, may, type Caller } from '../domain/policy.js'
import { approvalsRequiredOf, viewTenant, withSettings, type ServiceRequest, type SettledTenant, type Tenant, type TenantSettings } from '../domain/tenant.js'
import { Forbidden, InvalidState, NotFound } from '../errors.js'
import type { AuditDraft } from '../domain/audit.js'
import { grantEventsOf, type GrantEvent } from '../domain/grant-event.js'
import type { VersionedPut } from '../stores/types.js'
import { draft, retryOnConflict, type Acting, type WorkflowContext } from './context.js'
import { requestDetails } from './requests.js'
import { settingsOf } from './passkeys.js'
import { iso } from '../domain/lockbox.js'

async function requireTenant (ctx: WorkflowContext, tenantId: string): Promise<SettledTenant> {
  const tenant = await ctx.tenants.get(tenantId)
  if (tenant === null) throw new NotFound(`tenant ${tenantId} not found`)
  return tenant
}

export async function readTenant (ctx: WorkflowContext, caller: Caller, tenantId: string): Promise<Required<Tenant>> {
  const tenant = await requireTenant(ctx, tenantId)
  if (!may.readTenant(caller, tenantId)) throw new Forbidden(`you may not read tenant ${tenantId}`)
  return viewTenant(tenant)
}

export interface TenantSettingsPatch { lockboxEnabled?: boolean, approverEmails?: string[], approvalsRequired?: number, requireSignedApprovals?: boolean }

export async function updateTenantSettings (
  ctx: WorkflowContext, acting: Acting, tenantId: string, patch: TenantSettingsPatch
): Promise<Required<Tenant>> {
  await requireTenant(ctx, tenantId)
  if (!may.changeTenantSettings(acting.caller, tenantId)) throw new Forbidden(`only a GlobalAdministrator of ${tenantId} changes its settings`)
  return await retryOnConflict(async () => {
    const current = await ctx.tenants.getVersioned(tenantId)
    /* c8 ignore next -- requireTenant above found it, and tenants are never removed at run time */
    if (current === null) throw new NotFound(`tenant ${tenantId} not found`)
    const { tenant } = current
    // Kept whole: a settings record also carries what this patch does not touch (delegations, approver keys).
    const stored = settingsOf(current)
    const requireSigned = tenant.requireSignedApprovals
    const next: TenantSettings = {
      ...stored,
      lockboxEnabled: patch.lockboxEnabled ?? tenant.lockboxEnabled,
      approverEmails: patch.approverEmails ?? tenant.approverEmails,
      approvalsRequired: patch.approvalsRequired ?? approvalsRequiredOf(tenant),
      requireSignedApprovals: patch.requireSignedApprovals ?? requireSigned
    }
    if (next.requireSignedApprovals === true && !requireSigned && !(stored.approverKeys ?? []).some((k) => k.revokedAt === null)) {
      throw new InvalidState('register an approver passkey before requiring signed approvals: nobody could approve otherwise')
    }
    const changes: Record<string, { from: unknown, to: unknown }> = {}
    if (next.lockboxEnabled !== tenant.lockboxEnabled) changes.lockboxEnabled = { from: tenant.lockboxEnabled, to: next.lockboxEnabled }
    if (JSON.stringify(next.approverEmails) !== JSON.stringify(tenant.approverEmails)) changes.approverEmails = { from: tenant.approverEmails, to: next.approverEmails }
    if (next.approvalsRequired !== approvalsRequiredOf(tenant)) changes.approvalsRequired = { from: approvalsRequiredOf(tenant), to: next.approvalsRequired }
    if (next.requireSignedApprovals !== requireSigned) changes.requireSignedApprovals = { from: requireSigned, to: next.requireSignedApprovals }
    await ctx.stores.lockbox.commit({
      tenantId,
      tenantSettings: { value: next, expectedVersion: stored.version },
      audit: [draft('TenantSettingsUpdated', tenantId, acting, 'GlobalAdministrator', { object: tenantId, details: { changes } })]
    })
    return viewTenant(withSettings(tenant, next))
  })
}

export async function openServiceRequest (
  ctx: WorkflowContext, acting: Acting, tenantId: string, body: { title: string, description?: string }
): Promise<ServiceRequest> {
  await requireTenant(ctx, tenantId)
  if (!may.openServiceRequest(acting.caller, tenantId)) throw new Forbidden(`only users of ${tenantId} open its service requests`)
  const number = await ctx.stores.lockbox.nextServiceRequestNumber(tenantId)
  const sr: ServiceRequest = {
    number,
    tenantId,
    title: body.title,
    description: body.description ?? null,
    status: 'Open',
    createdBy: { id: acting.caller.id, name: acting.caller.name },
    createdAt: iso(ctx.now()),
    closedAt: null,
    version: 0
  }
  await ctx.stores.lockbox.commit({
    tenantId,
    serviceRequests: [{ value: sr, expectedVersion: 0 }],
    audit: [draft('ServiceRequestOpened', tenantId, acting, customerActingRole(acting.caller), { object: number, details: { title: sr.title } })]
  })
  return { ...sr, version: 1 }
}

export async function readServiceRequest (ctx: WorkflowContext, caller: Caller, tenantId: string, number: string): Promise<ServiceRequest> {
  await requireTenant(ctx, tenantId)
  const sr = may.readServiceRequests(caller, tenantId) ? await ctx.stores.lockbox.getServiceRequest(tenantId, number) : null
  if (sr === null) throw new NotFound(`service request ${number} not found in tenant ${tenantId}`)
  return sr
}

export async function requireServiceRequestReader (ctx: WorkflowContext, caller: Caller, tenantId: string): Promise<void> {
  await requireTenant(ctx, tenantId)
  if (!may.readServiceRequests(caller, tenantId)) throw new Forbidden(`you may not read the service requests of ${tenantId}`)
}

function closingRole (caller: Caller): ActingRole {
  if (!caller.provider) return customerActingRole(caller)
  return caller.roles.has('SupportEngineer') ? 'SupportEngineer' : 'SupportManager'
}

/**
 * Closing a service request cancels its undecided lockbox requests and ends its active access,
 * in the same atomic step as the close itself.
 */
export async function closeServiceRequest (ctx: WorkflowContext, acting: Acting, tenantId: string, number: string): Promise<ServiceRequest> {
  await requireTenant(ctx, tenantId)
  if (!may.closeServiceRequest(acting.caller, tenantId)) {
    throw new NotFound(`service request ${number} not found in tenant ${tenantId}`)
  }
  const role = closingRole(acting.caller)
  return await retryOnConflict(async () => {
    const sr = await ctx.stores.lockbox.getServiceRequest(tenantId, number)
    if (sr === null) throw new NotFound(`service request ${number} not found in tenant ${tenantId}`)
    if (sr.status === 'Closed') throw new InvalidState(`service request ${number} is already Closed`)
    const now = ctx.now()
    const closed: ServiceRequest = { ...sr, status: 'Closed', closedAt: iso(now) }
    const requests: Array<VersionedPut<LockboxRequest>> = []
    const grantEvents: GrantEvent[] = []
    const audit: AuditDraft[] = [draft('ServiceRequestClosed', tenantId, acting, role, { object: number, details: { endedRequests: 0 } })]
    for (const req of await ctx.stores.lockbox.listRequestsOfServiceRequest(tenantId, number)) {
      if (isFinal(effectiveStatus(req, now))) continue
      const result = transition(req, 'CloseServiceRequest', { now, actor: { id: acting.caller.id, role }, pendingTtlMs: ctx.pendingTtlMs })
      /* c8 ignore next -- a non-final effective status always allows CloseServiceRequest */
      if (!result.ok) continue
      requests.push({ value: result.request, expectedVersion: req.version })
      grantEvents.push(...grantEventsOf(result.from, result.request))
      audit.push(draft(result.operation, tenantId, acting, role, {
        requestId: req.id,
        workload: req.workload,
        object: req.scope,
        details: requestDetails(result.request, { from: result.from, status: result.request.status, reason: 'ServiceRequestClosed' })
      }))
    }
    ;(audit[0] as AuditDraft).details.endedRequests = requests.length
    await ctx.stores.lockbox.commit({
      tenantId,
      serviceRequests: [{ value: closed, expectedVersion: sr.version }],
      requests,
      audit,
      grantEvents
    })
    return { ...closed, version: sr.version + 1 }
  })
}
