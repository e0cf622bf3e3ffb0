// The checks every content request passes before a byte goes upstream (API.md §5), in order:
// (not shutting down), token, (no upgrade, no body on GET/HEAD), canonical path,
// tenant/workload/scope/method, grant still Approved, access record committed.
// Any refusal is itself audited (ContentAccessDenied) and nothing is forwarded. The exchange is
// registered for cutting before its grant is looked at, and the access record commits only if the
// store still holds the grant Approved in the same atomic step (Change.requireApproved): no revoke,
// cancel, close or expiry can fall between the check and the registration, and no ContentAccessed
// ever follows, in the chain, the record that ended its grant.
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { checkCanonicalPath, decodeSegments, methodAllowed, parseScope, pathInScope, type PathCheck } from '../../domain/grant.js'
import { effectiveStatus, type LockboxRequest, type Workload } from '../../domain/lockbox.js'
import type { AuditDraft } from '../../domain/audit.js'
import { AccessTokenError, type AccessClaims } from '../../gateway/access-token.js'
import { BodyNotAllowed, GrantEndedError, GrantInactive, OutOfScope, PathRejected, RateLimited, sendProblem, TokenInvalid, toProblem, Unavailable, UpgradeRefused, type Problem } from '../../errors.js'
import { hasBody } from './forward.js'

/** A content request as it arrived: what every record and answer names it by, checked or not. */
export interface ContentRequest {
  readonly accessId: string
  readonly workload: Workload
  readonly method: string
  /**
   * The path inside the workload, without the query: in its canonical spelling (checkCanonicalPath)
   * when it is canonical, so the records name exactly what was forwarded (`/tenants` + path);
   * otherwise as sent, since nothing is forwarded.
   */
  readonly path: string
  /** The raw query string, without `?`, forwarded byte for byte. */
  readonly query: string
  /** performance.now() when the request arrived. */
  readonly startedAt: number
}

/** A content request that passed every check and is recorded: what the forwarder and its outcome record use. */
export interface CheckedAccess extends ContentRequest {
  readonly claims: AccessClaims
  readonly grant: LockboxRequest
  /** Built from the checked parts: /tenants/{tenant}/{path}, the canonical `path` below /tenants. */
  readonly upstreamPath: string
  readonly assertion: string
  /** The exchange's own state, apart from what was checked. */
  readonly transfer: Transfer
}

/** One exchange's own state, from its registration for cutting until its outcome is recorded. */
export interface Transfer {
  /** performance.now() when it went upstream (0 until then). */
  forwardedAt: number
  bytesIn: number
  bytesOut: number
  cut: string | null
  /** The problem code the gateway answered with when the upstream failed before answering. */
  upstreamFailure: string | null
  upstream: { abort: (reason: Error) => void, done: boolean } | null
  /** Takes the exchange off the in-flight registry; set from registration until it is over. */
  untrack: (() => void) | null
  /** When the grant's window ends (epoch ms): unknown (Infinity) until the grant is checked. */
  windowEndsAt: number
}

/** How a content request that never went upstream ended: refused, or not checkable at all. */
export type GuardOutcome = 'denied' | 'unavailable'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the content guard once every check passed: a request it refuses never reaches a handler. */
    contentAccess: CheckedAccess
  }
}

/** A lookup answered synchronously when cached (the hot path's usual case), with a Promise otherwise. */
export interface CachedLookup<K, V> {
  /** The cached answer, else undefined. */
  cached: (key: K) => V | undefined
  get: (key: K) => Promise<V>
}

export interface GuardDeps {
  workload: Workload
  /** True once the gateway is shutting down: nothing more is forwarded. */
  closing: () => boolean
  now: () => number
  knownTenant: (tenantId: string) => boolean
  /** Verifies an access token; a refused one rejects with an AccessTokenError. */
  tokens: CachedLookup<string, AccessClaims>
  /** The stored request by id (null: none). */
  grants: CachedLookup<string, LockboxRequest | null>
  /** The upstream assertion of a grant: its claims, and the approvers' signatures the grant carries. */
  assertions: CachedLookup<{ claims: AccessClaims, grant: LockboxRequest }, string>
  /** Commits a record; with `requireApproved`, only while the store holds that grant Approved (else GrantEndedError). */
  audit: (draft: AuditDraft, requireApproved?: { requestId: string, now: number }) => Promise<unknown>
  /** Registers the exchange for cutting, before its grant is checked: the transfer is its state from then on. */
  register: (requestId: string, request: FastifyRequest, reply: FastifyReply) => Transfer
  /** The checks passed and the access is recorded: follow the exchange to its outcome. */
  track: (access: CheckedAccess, request: FastifyRequest, reply: FastifyReply) => void
  /**
   * A refusal without a valid token, judged by the refusal budget before it is recorded: null while
   * within budget, else the seconds to put in Retry-After (the budget has counted it into a summary).
   */
  throttle: (arrival: ContentRequest, request: FastifyRequest, tenantId: string | null, reason: string) => Promise<number | null>
  /** A request answered by the guard itself, for the access log and the metrics. */
  answered: (arrival: ContentRequest, request: FastifyRequest, outcome: GuardOutcome, code: string, status: number) => void
}

/** A refusal: the problem the client sees (from one of our typed errors), and the reason the audit record keeps. */
class Refusal {
  readonly answer: Problem
  constructor (error: Error, readonly reason: string) {
    this.answer = toProblem(error)
  }
}

const MAX_RECORDED_PATH = 1024
const scopeCache = new WeakMap<AccessClaims, string[] | null>()

function scopeOf (claims: AccessClaims): string[] | null {
  let scope = scopeCache.get(claims)
  if (scope === undefined) {
    scope = parseScope(claims.scope)
    scopeCache.set(claims, scope)
  }
  return scope
}

function bearerToken (header: string | undefined): string | null {
  if (header === undefined || header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return null
  const token = header.slice(7).trim()
  return token === '' ? null : token
}

/** Step 1 begins: the bearer token the request must carry. */
function requireBearerToken (request: FastifyRequest): string {
  const token = bearerToken(request.headers.authorization)
  if (token === null) throw new Refusal(new TokenInvalid('send Authorization: Bearer <access token> (POST /v1/requests/{id}/token)'), 'missing access token')
  return token
}

/** Steps 2 and 3: canonical path, then tenant, workload, scope and method against the token; the path to forward. */
function requireTokenScope (deps: GuardDeps, arrival: ContentRequest, claims: AccessClaims, check: PathCheck): string {
  if (!check.ok) throw new Refusal(new PathRejected(`the path is not canonical (${check.reason}); it is rejected, never repaired`), `path rejected: ${check.reason}`)
  const [tenantSegment, ...rest] = check.segments.slice(1)
  if (claims.workload !== deps.workload) throw new Refusal(new OutOfScope(`this token grants ${claims.workload}, not ${deps.workload}`), 'token is for another workload')
  if (tenantSegment === undefined || decodeURIComponent(tenantSegment) !== claims.tenantId) {
    throw new Refusal(new OutOfScope(`this token grants tenant ${claims.tenantId} only`), 'token is for another tenant')
  }
  const scope = scopeOf(claims)
  if (scope === null || !pathInScope(decodeSegments(rest), scope)) {
    throw new Refusal(new OutOfScope(`this token grants ${claims.scope} only`), 'path outside the granted scope')
  }
  if (!methodAllowed(arrival.method, claims.accessLevel)) {
    throw new Refusal(new OutOfScope(`${arrival.method} needs readwrite access; this token grants ${claims.accessLevel}`), 'method beyond the access level')
  }
  return `/tenants${arrival.path}`
}

/**
 * Splits a request path into the workload segment as the client spelled it (`/%65xchange` routes as
 * `/exchange`) and the path inside it. An absolute-form target (`GET http://host/exchange/…`) is
 * routed by its path, but it is not a path we authorise: kept whole, its `//` fails the check.
 */
function splitWorkload (workload: string, rawPath: string): { check: PathCheck, inside: string } {
  if (!rawPath.startsWith('/')) return { check: checkCanonicalPath(`/${workload}/${rawPath}`), inside: `/${rawPath}` }
  const slash = rawPath.indexOf('/', 1)
  const inside = slash === -1 ? '' : rawPath.slice(slash)
  const check = checkCanonicalPath(rawPath)
  // The router matched this segment to the workload after decoding it, so its canonical spelling
  // is the workload's name; a path it is not has no place here.
  /* c8 ignore next -- the router routes no other spelling here: an escaped separator fails the check first */
  if (check.ok && check.segments[0] !== workload) return { check: { ok: false, reason: 'bad-encoding' }, inside }
  return { check, inside }
}

/** The path inside the workload in its canonical spelling: what goes upstream below /tenants. */
function canonicalInside (check: PathCheck & { ok: true }, inside: string): string {
  const [tenant, ...rest] = check.segments.slice(1)
  if (tenant === undefined) return inside
  // A trailing slash is kept on a path below the tenant (a folder listing); `/{tenant}/` is `/{tenant}`.
  const trailing = inside.endsWith('/') && rest.length > 0 ? '/' : ''
  return `/${tenant}${rest.length > 0 ? '/' + rest.join('/') : ''}${trailing}`
}

/** The token is for exactly the access the request's approvers granted (narrowed, or as requested). */
function grantsClaims (grant: LockboxRequest, claims: AccessClaims): boolean {
  // grantedAccess(grant) without its allocation: this runs on every content request.
  const granted = grant.granted ?? grant
  return granted.scope === claims.scope && granted.accessLevel === claims.accessLevel
}

/** Step 4: the request behind the token is still Approved, at this instant, and is the token's. */
function requireApprovedGrant (deps: GuardDeps, claims: AccessClaims, grant: LockboxRequest | null): LockboxRequest {
  if (grant === null || grant.requester.id !== claims.actor || grant.tenantId !== claims.tenantId ||
    grant.workload !== claims.workload || !grantsClaims(grant, claims)) {
    throw new Refusal(new GrantInactive('the request behind this token does not grant this access'), 'token does not match an approved request')
  }
  const status = effectiveStatus(grant, deps.now())
  if (status !== 'Approved') throw grantEnded(status)
  return grant
}

/** The grant behind the token is no longer Approved (checked by the guard, or by the store at commit). */
function grantEnded (status: string): Refusal {
  return new Refusal(new GrantInactive(`the lockbox request behind this token is ${status}`), `request is ${status}`)
}

/** The client's address, or null once it is unknown (a client that reset its connection has none). */
export function clientIpOf (request: FastifyRequest): string | null {
  return request.ip ?? null
}

function accessDraft (access: CheckedAccess, request: FastifyRequest): AuditDraft {
  const claims = access.claims
  return {
    tenantId: claims.tenantId,
    operation: 'ContentAccessed',
    result: 'Success',
    actor: { id: claims.actor, type: 'SupportEngineer' },
    clientIp: clientIpOf(request),
    requestId: claims.requestId,
    workload: access.workload,
    object: access.path,
    details: { accessId: access.accessId, method: access.method, path: access.path, query: access.query }
  }
}

function tenantOfPath (deps: GuardDeps, path: string): string | null {
  const segment = path.split('/')[1]
  if (segment === undefined) return null
  try {
    const tenant = decodeURIComponent(segment)
    return deps.knownTenant(tenant) ? tenant : null
  } catch {
    return null
  }
}

/**
 * How far the guard got with a request it refuses: the claims once its token verified, the transfer
 * once it was registered for cutting.
 */
interface Refused {
  readonly arrival: ContentRequest
  readonly claims: AccessClaims | null
  readonly transfer: Transfer | null
}

/** Records the refusal (when a tenant can be named) and answers it; 503 if it cannot be recorded. */
async function refuse (deps: GuardDeps, request: FastifyRequest, reply: FastifyReply, refused: Refused, refusal: Refusal): Promise<FastifyReply> {
  const { arrival, claims } = refused
  untrack(refused.transfer)
  // Recorded in the log of the tenant whose content was asked for: a token used on another tenant's
  // path must not write that tenant's paths into its own tenant's log, where its admins read them.
  const tenantId = tenantOfPath(deps, arrival.path) ?? claims?.tenantId ?? null
  if (claims === null) {
    const retryAfter = await deps.throttle(arrival, request, tenantId, refusal.reason)
    if (retryAfter !== null) {
      reply.header('retry-after', String(retryAfter))
      return answerFromGuard(deps, request, reply, refused, 'denied', toProblem(new RateLimited(`too many refused requests from this address; retry in ${retryAfter} s`)))
    }
  }
  let answer = refusal.answer
  // A 503 (shutting down) refuses no one's right: the gateway could not serve it.
  let outcome: GuardOutcome = answer.status === 503 ? 'unavailable' : 'denied'
  if (tenantId !== null) {
    try {
      await deps.audit({
        tenantId,
        operation: 'ContentAccessDenied',
        result: 'Denied',
        actor: { id: claims?.actor ?? 'unknown', type: 'SupportEngineer' },
        clientIp: clientIpOf(request),
        requestId: claims?.requestId ?? null,
        workload: arrival.workload,
        object: arrival.path.slice(0, MAX_RECORDED_PATH),
        details: { accessId: arrival.accessId, method: arrival.method, path: arrival.path.slice(0, MAX_RECORDED_PATH), reason: refusal.reason, status: answer.status }
      })
    } catch (err) {
      request.log.error({ err }, 'could not record a content refusal')
      answer = toProblem(new Unavailable('the audit log is unavailable; nothing was forwarded'))
      outcome = 'unavailable'
    }
  } else {
    request.log.warn({ reason: refusal.reason }, 'content refusal for no known tenant: not audited')
  }
  return answerFromGuard(deps, request, reply, refused, outcome, answer)
}

function untrack (transfer: Transfer | null): void {
  if (transfer === null) return
  transfer.untrack?.()
  transfer.untrack = null
}

function answerFromGuard (deps: GuardDeps, request: FastifyRequest, reply: FastifyReply, refused: Refused, outcome: GuardOutcome, answer: Problem): FastifyReply {
  untrack(refused.transfer)
  deps.answered(refused.arrival, request, outcome, answer.code, answer.status)
  return sendProblem(reply.header('x-lockbox-access-id', refused.arrival.accessId), answer)
}

/** Checks a content request; on success `request.contentAccess` holds the checked access, else the guard answered. */
export function contentGuard (deps: GuardDeps) {
  return async function guardContentRequest (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    // Path and query are split once; only the path is authorised, the query is forwarded as sent.
    const url = request.raw.url as string
    const q = url.indexOf('?')
    // Checked now, so that every record names the canonical path; refused only in its turn (step 2).
    const { check, inside } = splitWorkload(deps.workload, q === -1 ? url : url.slice(0, q))
    const arrival: ContentRequest = {
      accessId: randomUUID(),
      workload: deps.workload,
      method: request.method,
      path: check.ok ? canonicalInside(check, inside) : inside,
      query: q === -1 ? '' : url.slice(q + 1),
      startedAt: performance.now()
    }
    let claims: AccessClaims | null = null
    let transfer: Transfer | null = null
    let access: CheckedAccess
    try {
      // A request on a kept-alive connection while the server drains: answered as any refusal.
      if (deps.closing()) throw new Refusal(new Unavailable('the gateway is shutting down; nothing was forwarded, retry shortly'), 'gateway shutting down')
      // Step 1: a refused token rejects with an AccessTokenError, answered 401. Cache hits are taken
      // without an await: each turn of the event loop costs the hot path (npm run bench).
      const token = requireBearerToken(request)
      claims = deps.tokens.cached(token) ?? await deps.tokens.get(token)
      if (request.headers.upgrade !== undefined) {
        throw new Refusal(new UpgradeRefused('the content services have no WebSocket or other upgraded protocols'), 'protocol upgrade refused')
      }
      // A body on a read is meaningless to HTTP and a smuggling vehicle to some servers; a read grant
      // must not carry bytes upstream either.
      if ((arrival.method === 'GET' || arrival.method === 'HEAD') && hasBody(request.raw)) {
        throw new Refusal(new BodyNotAllowed(`a ${arrival.method} request carries no body; nothing was forwarded`), `body on ${arrival.method} refused`)
      }
      const upstreamPath = requireTokenScope(deps, arrival, claims, check)
      // Registered first: whatever ends the grant from here on cuts this exchange too.
      transfer = deps.register(claims.requestId, request, reply)
      const cachedGrant = deps.grants.cached(claims.requestId)
      const grant = requireApprovedGrant(deps, claims, cachedGrant === undefined ? await deps.grants.get(claims.requestId) : cachedGrant)
      transfer.windowEndsAt = Date.parse(grant.accessEndsAt as string)
      const subject = { claims, grant }
      const assertion = deps.assertions.cached(subject) ?? await deps.assertions.get(subject)
      access = { ...arrival, claims, grant, upstreamPath, assertion, transfer }
    } catch (err) {
      const refused: Refused = { arrival, claims, transfer }
      if (err instanceof AccessTokenError) return await refuse(deps, request, reply, refused, new Refusal(new TokenInvalid(`access token refused: ${err.reason}`), err.reason))
      if (err instanceof Refusal) return await refuse(deps, request, reply, refused, err)
      request.log.error({ err, accessId: arrival.accessId }, 'content check failed')
      return answerFromGuard(deps, request, reply, refused, 'unavailable', toProblem(new Unavailable('the grant could not be checked; nothing was forwarded')))
    }
    // Step 5: the access is on the audit log, durably, before anything goes upstream, and only if
    // the grant is still Approved when the record is sealed.
    try {
      await deps.audit(accessDraft(access, request), { requestId: access.claims.requestId, now: deps.now() })
    } catch (err) {
      const refused: Refused = { arrival, claims: access.claims, transfer: access.transfer }
      if (err instanceof GrantEndedError) {
        /* c8 ignore next -- no store deletes a request, so one checked a moment ago is still there (null: gone) */
        const status = err.status ?? 'gone'
        return await refuse(deps, request, reply, refused, grantEnded(status))
      }
      request.log.error({ err, accessId: arrival.accessId }, 'could not record a content access')
      return answerFromGuard(deps, request, reply, refused, 'unavailable', toProblem(new Unavailable('the audit log is unavailable; nothing was forwarded')))
    }
    request.contentAccess = access
    deps.track(access, request, reply)
    return undefined
  }
}
