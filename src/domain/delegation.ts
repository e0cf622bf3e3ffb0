// Delegation (issue 18): an approver away from work hands their approving to another person of the
// tenant for a window. No chains, no self-delegation; a decision taken as a delegate names whom it
// was taken for. Delegations live in the tenant's settings record, so creating one is checked
// against the others in the same compare-and-set. Pure.
import { iso } from './lockbox.js'

export interface Delegation {
  id: string
  /** The approver whose approving is delegated. */
  from: string
  /** The person who may decide for them until `until`. */
  to: string
  until: string
  createdAt: string
  createdBy: string
  /** Where the delegator hears of decisions taken for them (null: unknown, not told). */
  fromEmail: string | null
  revokedAt: string | null
  revokedBy: string | null
}

export type DelegationStatus = 'Active' | 'Revoked' | 'Expired'

/** Longest a delegation may run: an absence, not a standing second role. */
export const MAX_DELEGATION_MS = 90 * 24 * 3600_000

export function delegationStatus (d: Delegation, now: number): DelegationStatus {
  if (d.revokedAt !== null) return 'Revoked'
  return now < Date.parse(d.until) ? 'Active' : 'Expired'
}

export function activeDelegations (list: readonly Delegation[], now: number): Delegation[] {
  return list.filter((d) => delegationStatus(d, now) === 'Active')
}

export type DelegationRefusal =
  | { code: 'DELEGATION_SELF', detail: string }
  | { code: 'DELEGATION_CHAIN', detail: string }
  | { code: 'VALIDATION_FAILED', detail: string }

/**
 * Why a new delegation from `from` to `to` until `until` may not exist beside `list`, or null. A
 * delegate cannot pass on what they hold, and nobody receives approving while they have handed
 * their own away: either would make a chain.
 */
export function delegationRefusal (list: readonly Delegation[], spec: { from: string, to: string, until: number }, now: number): DelegationRefusal | null {
  if (spec.from === spec.to) return { code: 'DELEGATION_SELF', detail: 'an approver cannot delegate to themselves' }
  if (!(spec.until > now)) return { code: 'VALIDATION_FAILED', detail: 'until must be in the future' }
  if (spec.until - now > MAX_DELEGATION_MS) return { code: 'VALIDATION_FAILED', detail: 'a delegation runs at most 90 days' }
  const active = activeDelegations(list, now)
  if (active.some((d) => d.to === spec.from)) return { code: 'DELEGATION_CHAIN', detail: `${spec.from} holds a delegation and cannot delegate it on` }
  if (active.some((d) => d.from === spec.to)) return { code: 'DELEGATION_CHAIN', detail: `${spec.to} has delegated their own approving away` }
  return null
}

/** The list after a change: ended delegations are dropped (the audit log keeps their story). */
export function keepCurrent (list: readonly Delegation[], now: number): Delegation[] {
  return activeDelegations(list, now)
}

/**
 * Whose delegate `person` decides as: the named delegator when `onBehalfOf` is given (null if they
 * hold no such delegation), else the oldest active delegation they hold, else null.
 */
export function delegatorFor (list: readonly Delegation[], person: string, now: number, onBehalfOf?: string): Delegation | null {
  const held = activeDelegations(list, now).filter((d) => d.to === person)
  if (onBehalfOf !== undefined) return held.find((d) => d.from === onBehalfOf) ?? null
  return held.sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0] ?? null
}

export function newDelegation (spec: { id: string, from: string, to: string, until: number, createdBy: string, fromEmail: string | null }, now: number): Delegation {
  return {
    id: spec.id,
    from: spec.from,
    to: spec.to,
    until: iso(spec.until),
    createdAt: iso(now),
    createdBy: spec.createdBy,
    fromEmail: spec.fromEmail,
    revokedAt: null,
    revokedBy: null
  }
}

/** A delegation as clients see it. */
export function viewDelegation (d: Delegation, now: number): Omit<Delegation, 'fromEmail'> & { status: DelegationStatus } {
  const { fromEmail: _email, ...rest } = d
  return { ...rest, status: delegationStatus(d, now) }
}
