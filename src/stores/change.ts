// What every backend checks of a Change before committing it.
import type { Change } from './types.js'

/**
 * Every entity and draft of a change must belong to the change's tenant: its chain, and (on Redis)
 * its hash slot.
 */
export function assertOneTenant (change: Change): void {
  const tenants = [
    ...(change.requests ?? []).map((put) => put.value.tenantId),
    ...(change.serviceRequests ?? []).map((put) => put.value.tenantId),
    ...[change.tenantSettings?.value.tenantId].filter((tenantId) => tenantId !== undefined),
    ...(change.notifications ?? []).map((put) => put.value.tenantId),
    ...change.audit.map((draft) => draft.tenantId)
  ]
  const stranger = tenants.find((tenantId) => tenantId !== change.tenantId)
  if (stranger !== undefined) throw new Error(`a change of tenant ${change.tenantId} touches tenant ${stranger}`)
}
