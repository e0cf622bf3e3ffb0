// Delegations of approving (issue 18): created, listed and revoked by a tenant's approvers, kept in
// the tenant's settings record so each change is one compare-and-set with its record.
import { randomUUID } from 'node:crypto'
import {
  delegationRefusal, delegationStatus, delegatorFor, keepCurrent, newDelegation,
  type Delegation
} from '../domain/delegation.js'
import { isCustomerApprover, isTenantMember, type Caller } from '../domain/policy.js'
import { approvalsRequiredOf, type Tenant, type TenantSettings } from '../domain/tenant.js'
import { DelegationChain, DelegationSelf, Forbidden, InvalidState, NotFound, ValidationFailed } from '../errors.js'
import { draft, retryOnConflict, type Acting, type WorkflowContext } from './context.js'

export interface DelegationInput { to: string, from?: string, until: string }

async function settingsOf (ctx: WorkflowContext, tenantId: string): Promise<{ tenant: Tenant, settings: TenantSettings | null }> {
  const current = await ctx.tenants.getVersioned(tenantId)
  if (current === null) throw new NotFound(`tenant ${tenantId} not found`)
  return current
}

/** The tenant's stored delegations (callers judge each one at their `now`); none for an unknown tenant. */
async function delegationsOf (ctx: WorkflowContext, tenantId: string): Promise<Delegation[]> {
  return (await ctx.tenants.getVersioned(tenantId))?.settings?.delegations ?? []
}

/** The delegation `caller` decides under in `tenantId`, or null: only a member of that tenant can hold one. */
export async function standInFor (ctx: WorkflowContext, caller: Caller, tenantId: string, onBehalfOf?: string): Promise<Delegation | null> {
  if (!isTenantMember(caller, tenantId)) return null
  return delegatorFor(await delegationsOf(ctx, tenantId), caller.id, ctx.now(), onBehalfOf)
}

/** A settings record to write: the stored one, or the tenants file's values when none is stored yet. */
function writable (tenant: Tenant, settings: TenantSettings | null, delegations: Delegation[]): TenantSettings {
  return {
    ...settings,
    tenantId: tenant.id,
    lockboxEnabled: tenant.lockboxEnabled,
    approverEmails: tenant.approverEmails,
    approvalsRequired: approvalsRequiredOf(tenant),
    delegations,
    version: settings?.version ?? 0
  }
}

export async function createDelegation (ctx: WorkflowContext, acting: Acting, tenantId: string, input: DelegationInput): Promise<Delegation> {
  const { caller } = acting
  await settingsOf(ctx, tenantId)
  if (!isCustomerApprover(caller, tenantId)) throw new Forbidden(`only the approvers of ${tenantId} delegate their approving`)
  const from = input.from ?? caller.id
  if (from !== caller.id && !caller.roles.has('GlobalAdministrator')) throw new Forbidden('only a GlobalAdministrator delegates the approving of someone else')
  const until = Date.parse(input.until)
  /* c8 ignore next -- the body schema's date-time format lets no unparseable value through */
  if (Number.isNaN(until)) throw new ValidationFailed('until is not a date-time')
  return await retryOnConflict(async () => {
    const { tenant, settings } = await settingsOf(ctx, tenantId)
    const now = ctx.now()
    const current = settings?.delegations ?? []
    const refusal = delegationRefusal(current, { from, to: input.to, until }, now)
    if (refusal !== null) {
      if (refusal.code === 'DELEGATION_SELF') throw new DelegationSelf(refusal.detail)
      if (refusal.code === 'DELEGATION_CHAIN') throw new DelegationChain(refusal.detail)
      throw new ValidationFailed(refusal.detail)
    }
    const delegation = newDelegation({ id: randomUUID(), from, to: input.to, until, createdBy: caller.id, fromEmail: from === caller.id ? caller.email : null }, now)
    await ctx.stores.lockbox.commit({
      tenantId,
      tenantSettings: { value: writable(tenant, settings, [...keepCurrent(current, now), delegation]), expectedVersion: settings?.version ?? 0 },
      audit: [draft('ApprovalDelegated', tenantId, acting, undefined, {
        object: delegation.id,
        details: { delegationId: delegation.id, from, to: delegation.to, until: delegation.until }
      })]
    })
    return delegation
  })
}

/** Approvers of the tenant see its delegations; a delegate sees the ones they hold. */
export async function listDelegations (ctx: WorkflowContext, caller: Caller, tenantId: string): Promise<Delegation[]> {
  const list = (await settingsOf(ctx, tenantId)).settings?.delegations ?? []
  if (isCustomerApprover(caller, tenantId)) return list
  if (isTenantMember(caller, tenantId)) return list.filter((d) => d.to === caller.id)
  throw new Forbidden(`you may not read the delegations of ${tenantId}`)
}

/** Ended by the delegator, the delegate or a GlobalAdministrator of the tenant. */
export async function revokeDelegation (ctx: WorkflowContext, acting: Acting, tenantId: string, id: string): Promise<Delegation> {
  const { caller } = acting
  return await retryOnConflict(async () => {
    const { tenant, settings } = await settingsOf(ctx, tenantId)
    const now = ctx.now()
    const current = settings?.delegations ?? []
    const found = isTenantMember(caller, tenantId) ? current.find((d) => d.id === id) : undefined
    if (found === undefined) throw new NotFound(`delegation ${id} not found in tenant ${tenantId}`)
    if (caller.id !== found.from && caller.id !== found.to && !(isCustomerApprover(caller, tenantId) && caller.roles.has('GlobalAdministrator'))) {
      throw new Forbidden('only the delegator, the delegate or a GlobalAdministrator revokes a delegation')
    }
    if (delegationStatus(found, now) !== 'Active') throw new InvalidState(`delegation ${id} has already ended`)
    const revoked: Delegation = { ...found, revokedAt: new Date(now).toISOString(), revokedBy: caller.id }
    // The settings record exists: it holds the delegation found.
    const next = writable(tenant, settings, keepCurrent(current.filter((d) => d.id !== id), now))
    await ctx.stores.lockbox.commit({
      tenantId,
      tenantSettings: { value: next, expectedVersion: next.version },
      audit: [draft('ApprovalDelegationRevoked', tenantId, acting, undefined, {
        object: id,
        details: { delegationId: id, from: found.from, to: found.to, until: found.until }
      })]
    })
    return revoked
  })
}
