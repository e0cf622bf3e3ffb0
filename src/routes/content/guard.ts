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

/** What the guard learned about one content request; the forwarder and the outcome record use it. */
export interface ContentAccess {
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
  claims: AccessClaims | null
  grant: LockboxRequest | null
  /** Built from the checked parts: /tenants/{tenant}/{path}, the canonical `path` below /tenants. */
  upstreamPath: string
  assertion: string
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
    contentAccess: ContentAccess
  }
}

export interface GuardDeps {
  workload: Workload
  /** True once the gateway is shutting down: nothing more is forwarded. */
  closing: () => boolean
  now: () => number
  knownTenant: (tenantId: string) => boolean
  verifyToken: (token: string) => AccessClaims | Promise<AccessClaims>
  grant: (requestId: string) => LockboxRequest | null | Promise<LockboxRequest | null>
  /** The upstream assertion of a grant: its claims, and the approvers' signatures the grant carries. */
  assertionFor: (claims: AccessClaims, grant: LockboxRequest) => string | Promise<string>
  /** Commits a record; with `requireApproved`, only while the store holds that grant Approved (else GrantEndedError). */
  audit: (draft: AuditDraft, requireApproved?: { requestId: string, now: number }) => Promise<unknown>
  /** Registers the exchange for cutting (sets `access.transfer.untrack`): called before its grant is checked. */
  register: (access: ContentAccess, request: FastifyRequest, reply: FastifyReply) => void
  /** The checks passed and the access is recorded: follow the exchange to its outcome. */
  track: (access: ContentAccess, request: FastifyRequest, reply: FastifyReply) => void
  /**
   * A refusal without a valid token, judged by the refusal budget before it is recorded: null while
   * within budget, else the seconds to put in Retry-After (the budget has counted it into a summary).
   */
  throttle: (request: FastifyRequest, tenantId: string | null, reason: string) => Promise<number | null>
  /** A request answered by the guard itself, for the access log and the metrics. */
  answered: (request: FastifyRequest, outcome: GuardOutcome, code: string, status: number) => void
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

/** Step 1. A refused token surfaces as an AccessTokenError, thrown or rejected; the guard maps it to 401. */
function verifiedClaims (deps: GuardDeps, request: FastifyRequest): AccessClaims | Promise<AccessClaims> {
  const token = bearerToken(request.headers.authorization)
  if (token === null) throw new Refusal(new TokenInvalid('send Authorization: Bearer <access token> (POST /v1/requests/{id}/token)'), 'missing access token')
  return deps.verifyToken(token)
}

/** Steps 2 and 3: canonical path, then tenant, workload, scope and method against the token. */
function requireTokenScope (deps: GuardDeps, access: ContentAccess, claims: AccessClaims, check: PathCheck): void {
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
  if (!methodAllowed(access.method, claims.accessLevel)) {
    throw new Refusal(new OutOfScope(`${access.method} needs readwrite access; this token grants ${claims.accessLevel}`), 'method beyond the access level')
  }
  access.upstreamPath = `/tenants${access.path}`
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

function accessDraft (access: ContentAccess, request: FastifyRequest, claims: AccessClaims): AuditDraft {
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

/** Records the refusal (when a tenant can be named) and answers it; 503 if it cannot be recorded. */
async function refuse (deps: GuardDeps, request: FastifyRequest, reply: FastifyReply, refusal: Refusal): Promise<FastifyReply> {
  const access = request.contentAccess
  untrack(access)
  const claims = access.claims
  // Recorded in the log of the tenant whose content was asked for: a token used on another tenant's
  // path must not write that tenant's paths into its own tenant's log, where its admins read them.
  const tenantId = tenantOfPath(deps, access.path) ?? claims?.tenantId ?? null
  if (claims === null) {
    const retryAfter = await deps.throttle(request, tenantId, refusal.reason)
    if (retryAfter !== null) {
      reply.header('retry-after', String(retryAfter))
      return answerFromGuard(deps, request, reply, 'denied', toProblem(new RateLimited(`too many refused requests from this address; retry in ${retryAfter} s`)))
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
        workload: access.workload,
        object: access.path.slice(0, MAX_RECORDED_PATH),
        details: { accessId: access.accessId, method: access.method, path: access.path.slice(0, MAX_RECORDED_PATH), reason: refusal.reason, status: answer.status }
      })
    } catch (err) {
      request.log.error({ err }, 'could not record a content refusal')
      answer = toProblem(new Unavailable('the audit log is unavailable; nothing was forwarded'))
      outcome = 'unavailable'
    }
  } else {
    request.log.warn({ reason: refusal.reason }, 'content refusal for no known tenant: not audited')
  }
  return answerFromGuard(deps, request, reply, outcome, answer)
}

function untrack (access: ContentAccess): void {
  access.transfer.untrack?.()
  access.transfer.untrack = null
}

function answerFromGuard (deps: GuardDeps, request: FastifyRequest, reply: FastifyReply, outcome: GuardOutcome, answer: Problem): FastifyReply {
  untrack(request.contentAccess)
  deps.answered(request, outcome, answer.code, answer.status)
  return sendProblem(reply.header('x-lockbox-access-id', request.contentAccess.accessId), answer)
}

export function contentGuard (deps: GuardDeps) {
  return async function guardContentRequest (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    // Path and query are split once; only the path is authorised, the query is forwarded as sent.
    const url = request.raw.url as string
    const q = url.indexOf('?')
    // Checked now, so that every record names the canonical path; refused only in its turn (step 2).
    const { check, inside } = splitWorkload(deps.workload, q === -1 ? url : url.slice(0, q))
    const access: ContentAccess = {
      accessId: randomUUID(),
      workload: deps.workload,
      method: request.method,
      path: check.ok ? canonicalInside(check, inside) : inside,
      query: q === -1 ? '' : url.slice(q + 1),
      claims: null,
      grant: null,
      upstreamPath: '',
      assertion: '',
      startedAt: performance.now(),
      transfer: {
        forwardedAt: 0,
        bytesIn: 0,
        bytesOut: 0,
        cut: null,
        upstreamFailure: null,
        upstream: null,
        untrack: null,
        windowEndsAt: Number.POSITIVE_INFINITY
      }
    }
    request.contentAccess = access
    try {
      // A request on a kept-alive connection while the server drains: answered as any refusal.
      if (deps.closing()) throw new Refusal(new Unavailable('the gateway is shutting down; nothing was forwarded, retry shortly'), 'gateway shutting down')
      const verified = verifiedClaims(deps, request)
      const claims = verified instanceof Promise ? await verified : verified
      access.claims = claims
      if (request.headers.upgrade !== undefined) {
        throw new Refusal(new UpgradeRefused('the content services have no WebSocket or other upgraded protocols'), 'protocol upgrade refused')
      }
      // A body on a read is meaningless to HTTP and a smuggling vehicle to some servers; a read grant
      // must not carry bytes upstream either.
      if ((access.method === 'GET' || access.method === 'HEAD') && hasBody(request.raw)) {
        throw new Refusal(new BodyNotAllowed(`a ${access.method} request carries no body; nothing was forwarded`), `body on ${access.method} refused`)
      }
      requireTokenScope(deps, access, claims, check)
      // Registered first: whatever ends the grant from here on cuts this exchange too.
      deps.register(access, request, reply)
      const pending = deps.grant(claims.requestId)
      access.grant = requireApprovedGrant(deps, claims, pending instanceof Promise ? await pending : pending)
      access.transfer.windowEndsAt = Date.parse(access.grant.accessEndsAt as string)
      const assertion = deps.assertionFor(claims, access.grant)
      access.assertion = typeof assertion === 'string' ? assertion : await assertion
    } catch (err) {
      if (err instanceof AccessTokenError) return await refuse(deps, request, reply, new Refusal(new TokenInvalid(`access token refused: ${err.reason}`), err.reason))
      if (err instanceof Refusal) return await refuse(deps, request, reply, err)
      request.log.error({ err, accessId: access.accessId }, 'content check failed')
      return answerFromGuard(deps, request, reply, 'unavailable', toProblem(new Unavailable('the grant could not be checked; nothing was forwarded')))
    }
    // Step 5: the access is on the audit log, durably, before anything goes upstream, and only if
    // the grant is still Approved when the record is sealed.
    try {
      await deps.audit(accessDraft(access, request, access.claims), { requestId: access.claims.requestId, now: deps.now() })
    } catch (err) {
      if (err instanceof GrantEndedError) {
        /* c8 ignore next -- no store deletes a request, so one checked a moment ago is still there (null: gone) */
        const status = err.status ?? 'gone'
        return await refuse(deps, request, reply, grantEnded(status))
      }
      request.log.error({ err, accessId: access.accessId }, 'could not record a content access')
      return answerFromGuard(deps, request, reply, 'unavailable', toProblem(new Unavailable('the audit log is unavailable; nothing was forwarded')))
    }
    deps.track(access, request, reply)
    return undefined
  }
}
