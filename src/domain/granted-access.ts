// The access a lockbox request actually grants: what was asked for, narrowed by its approvers. An
// approver may give less (a shorter window, a sub-path of the scope, read instead of readwrite),
// never more; with a quorum the grant is the intersection of what every approver allowed. Pure.
import { parseAccessDuration } from './duration.js'
import { parseScope, pathInScope } from './grant.js'
import type { AccessLevel } from './lockbox.js'

/** One grant of access: where, how, and for how long. */
export interface GrantedAccess {
  scope: string
  accessLevel: AccessLevel
  /** ISO 8601 duration of the access window. */
  duration: string
  durationMs: number
}

/** What an approver may ask to narrow; each field left out keeps the requested value. */
export interface AccessNarrowing {
  duration?: string
  scope?: string
  accessLevel?: AccessLevel
}

/** Why a narrowing was refused: each one a stable error code at the API. */
export type NarrowingRefusal =
  | { code: 'GRANT_WIDENED', detail: string }
  | { code: 'GRANT_DISJOINT', detail: string }
  | { code: 'VALIDATION_FAILED', detail: string }

export type NarrowingResult = { ok: true, access: GrantedAccess } | { ok: false, refusal: NarrowingRefusal }

/** The fields of a request that say what it asked for. */
export type RequestedAccess = Pick<GrantedAccess, 'scope' | 'accessLevel' | 'duration' | 'durationMs'>

export function requestedAccess (req: RequestedAccess): GrantedAccess {
  return { scope: req.scope, accessLevel: req.accessLevel, duration: req.duration, durationMs: req.durationMs }
}

/** The access a request grants: its narrowed grant once decided, else exactly what it asked for. */
export function grantedAccess (req: RequestedAccess & { granted?: GrantedAccess | null }): GrantedAccess {
  return req.granted ?? requestedAccess(req)
}

/** Whether `inner` is `outer` or a sub-path of it, on whole segments. */
function scopeWithin (inner: string[], outer: string[]): boolean {
  return pathInScope(inner, outer)
}

/**
 * The access one approver allows: `requested` narrowed by `narrowing`. Anything wider than what was
 * asked for (a longer window, a scope outside the requested one, readwrite for a read request) is
 * refused, not clipped: an approver who meant to give more should know that they did not.
 */
export function narrowAccess (requested: GrantedAccess, narrowing: AccessNarrowing): NarrowingResult {
  const access = { ...requested }
  if (narrowing.duration !== undefined) {
    const ms = parseAccessDuration(narrowing.duration)
    if (ms === null) return refuse('VALIDATION_FAILED', `duration "${narrowing.duration}" is not a positive ISO 8601 duration of the form PT…H…M…S`)
    if (ms > requested.durationMs) return refuse('GRANT_WIDENED', `duration ${narrowing.duration} is longer than the ${requested.duration} requested`)
    access.duration = narrowing.duration
    access.durationMs = ms
  }
  if (narrowing.scope !== undefined) {
    const inner = parseScope(narrowing.scope)
    if (inner === null) return refuse('VALIDATION_FAILED', `scope "${narrowing.scope}" is not a canonical path (absolute, percent-encoded, no dot segments, no empty segments)`)
    // The requested scope passed the same check when the request was created.
    if (!scopeWithin(inner, parseScope(requested.scope) as string[])) return refuse('GRANT_WIDENED', `scope ${narrowing.scope} is not inside the ${requested.scope} requested`)
    access.scope = narrowing.scope
  }
  if (narrowing.accessLevel !== undefined) {
    if (narrowing.accessLevel === 'readwrite' && requested.accessLevel === 'read') return refuse('GRANT_WIDENED', 'readwrite access is wider than the read access requested')
    access.accessLevel = narrowing.accessLevel
  }
  return { ok: true, access }
}

/**
 * What two approvers both allowed: the shorter window, the inner scope, the lesser level. Two scopes
 * neither of which contains the other share no path: refused, since no grant satisfies both.
 */
export function intersectAccess (a: GrantedAccess, b: GrantedAccess): NarrowingResult {
  const sa = parseScope(a.scope) as string[]
  const sb = parseScope(b.scope) as string[]
  let scope: string
  if (scopeWithin(sa, sb)) scope = a.scope
  else if (scopeWithin(sb, sa)) scope = b.scope
  else return refuse('GRANT_DISJOINT', `scope ${b.scope} shares no path with ${a.scope}, which another approver allowed`)
  const shorter = b.durationMs < a.durationMs ? b : a
  return {
    ok: true,
    access: {
      scope,
      accessLevel: a.accessLevel === 'read' || b.accessLevel === 'read' ? 'read' : 'readwrite',
      duration: shorter.duration,
      durationMs: shorter.durationMs
    }
  }
}

/** Whether `access` is exactly what was requested (an approval that narrowed nothing). */
export function isExactGrant (requested: GrantedAccess, access: GrantedAccess): boolean {
  return requested.scope === access.scope && requested.accessLevel === access.accessLevel && requested.durationMs === access.durationMs
}

/** The grant as clients see it and records carry it: no internal milliseconds. */
export function publicGrant (access: GrantedAccess): { scope: string, accessLevel: AccessLevel, duration: string } {
  return { scope: access.scope, accessLevel: access.accessLevel, duration: access.duration }
}

// The canonical grant an approver signs (RFC 8785 over the request and the access granted) is
// defined once, in approval.ts: canonicalGrant(request, grantedAccess(request)).

function refuse (code: NarrowingRefusal['code'], detail: string): NarrowingResult {
  return { ok: false, refusal: { code, detail } }
}
