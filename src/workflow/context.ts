// What the workflow functions need: stores, tenants, limits and the clock. Routes and the sweeper
// build one from the app; nothing in src/workflow knows about HTTP.
import type { AuditDraft, AuditOperation, AuditResult } from '../domain/audit.js'
import type { Caller } from '../domain/policy.js'
import { auditActor } from '../domain/policy.js'
import type { ActingRole } from '../domain/lockbox.js'
import type { SettledTenant, TenantSettings } from '../domain/tenant.js'
import { ConflictError } from '../errors.js'
import type { Change, LockboxStore, Stores } from '../stores/types.js'
import type { RelyingParty } from '../passkeys/webauthn.js'

export interface TenantRegistry {
  /** The tenant with its current settings, or null if the tenants file does not define it. */
  get: (tenantId: string) => Promise<SettledTenant | null>
  /** The tenant and the stored settings (with their version), for a compare-and-set update. */
  getVersioned: (tenantId: string) => Promise<{ tenant: SettledTenant, settings: TenantSettings | null } | null>
  ids: () => string[]
}

export interface WorkflowContext {
  stores: Stores
  tenants: TenantRegistry
  pendingTtlMs: number
  maxAccessMs: number
  now: () => number
  /** What notices need: the base of links, and whether a webhook is configured. */
  notices: { publicUrl: string, webhook: boolean }
  /** The WebAuthn relying party approver passkeys are bound to (the admin center's origin). */
  relyingParty: RelyingParty
  /** Called after a commit that queued notifications, so delivery need not wait for the next poll. */
  notificationsQueued: () => void
}

/** Who is acting, from where. */
export interface Acting {
  caller: Caller
  clientIp: string | null
}

/** Who acts in a request: its verified caller (caller-identity) and its address. */
export function actingOf (request: { caller: Caller, ip?: string }): Acting {
  return { caller: request.caller, clientIp: request.ip ?? null }
}

export interface DraftFields {
  result?: AuditResult
  requestId?: string | null
  workload?: string | null
  object?: string | null
  details?: Record<string, unknown>
}

export function draft (operation: AuditOperation, tenantId: string, acting: Acting | null, role: ActingRole | undefined, fields: DraftFields = {}): AuditDraft {
  return {
    tenantId,
    operation,
    result: fields.result ?? 'Success',
    actor: acting === null ? { id: 'system', type: 'System' } : auditActor(acting.caller, role),
    clientIp: acting?.clientIp ?? null,
    requestId: fields.requestId ?? null,
    workload: fields.workload ?? null,
    object: fields.object ?? null,
    details: fields.details ?? {}
  }
}

const MAX_ATTEMPTS = 8

/**
 * Runs a read-decide-commit step again when its compare-and-set lost a race: the next attempt
 * re-reads, so it decides on the winner's result (usually a 409 for the loser).
 */
export async function retryOnConflict<T> (step: () => Promise<T>, attempts = MAX_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step()
    } catch (err) {
      // The last attempt's conflict is passed on: the caller answers it as a 409.
      if (!(err instanceof ConflictError) || attempt >= attempts) throw err
    }
  }
}

/** Commits, or resolves false when a compare-and-set lost to someone else's change. */
export async function commitUnlessConflict (store: LockboxStore, change: Change): Promise<boolean> {
  try {
    await store.commit(change)
    return true
  } catch (err) {
    if (err instanceof ConflictError) return false
    throw err
  }
}
