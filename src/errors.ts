// Every error a client can see, with the stable upper-snake `code` of the API contract, and how any
// thrown value becomes the problem+json the client gets (API.md §7). Thrown anywhere; rendered by
// the error handler (plugins/app/problem-details.ts), or sent at once by a hook that answers itself.
// 5xx never echo internal messages: whatever jose, the store or undici said stays in the log.
import createError, { type FastifyErrorConstructor } from '@fastify/error'
import type { FastifyError, FastifyReply } from 'fastify'

const codes = new Set<string>()

/** An error class whose message is written for the client (it is shown even on a 5xx). */
function define (code: string, status: number): FastifyErrorConstructor<{ code: string }, [string]> {
  codes.add(code)
  return createError<[string]>(code, '%s', status)
}

/** Every code defined here: the problem renderer trusts these errors' messages. */
export const OWN_CODES: ReadonlySet<string> = codes

export const ValidationFailed = define('VALIDATION_FAILED', 400)
export const PathRejected = define('PATH_REJECTED', 400)
export const UpgradeRefused = define('UPGRADE_REFUSED', 400)
export const BodyNotAllowed = define('BODY_NOT_ALLOWED', 400)
export const Unauthenticated = define('UNAUTHENTICATED', 401)
export const TokenInvalid = define('TOKEN_INVALID', 401)
export const Forbidden = define('FORBIDDEN', 403)
export const SeparationOfDuties = define('SEPARATION_OF_DUTIES', 403)
export const OutOfScope = define('OUT_OF_SCOPE', 403)
export const GrantInactive = define('GRANT_INACTIVE', 403)
export const NotFound = define('NOT_FOUND', 404)
export const InvalidState = define('INVALID_STATE', 409)
export const ServiceRequestInvalid = define('SERVICE_REQUEST_INVALID', 422)
export const AlreadyApproved = define('ALREADY_APPROVED', 409)
export const GrantWidened = define('GRANT_WIDENED', 422)
export const GrantDisjoint = define('GRANT_DISJOINT', 422)
export const DelegationSelf = define('DELEGATION_SELF', 422)
export const DelegationChain = define('DELEGATION_CHAIN', 422)
export const PasskeyInvalid = define('PASSKEY_INVALID', 400)
export const SignedApprovalRequired = define('SIGNED_APPROVAL_REQUIRED', 400)
export const ApprovalSignatureInvalid = define('APPROVAL_SIGNATURE_INVALID', 400)
export const ApprovalNotProven = define('APPROVAL_NOT_PROVEN', 403)
export const RateLimited = define('RATE_LIMITED', 429)
export const BadGateway = define('UPSTREAM_UNAVAILABLE', 502)
export const Unavailable = define('UNAVAILABLE', 503)
export const GatewayTimeout = define('UPSTREAM_TIMEOUT', 504)

/** Raised by a store when a compare-and-set lost the race: someone else changed the entity first. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError'
}

/** Raised by a store that cannot answer (down, closed, timed out). Callers fail closed with 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
}

/**
 * Raised by a store when a change's `requireApproved` grant is no longer Approved at commit time
 * (revoked, canceled, completed, window over, or unknown): nothing was written.
 */
export class GrantEndedError extends Error {
  override readonly name = 'GrantEndedError'
  /** The stored status that refused the change (null: no such request in the tenant). */
  constructor (readonly requestId: string, readonly status: string | null) {
    super(`request ${requestId} is not Approved (${status ?? 'unknown'})`)
  }
}

/**
 * Raised at start when a stored request is not in the state its audit chain leaves it in (edited
 * at rest): the gateway refuses to start rather than serve a state nobody recorded.
 */
export class StateNotBackedError extends Error {
  override readonly name = 'StateNotBackedError'
}

/** RFC 9457 problem details, as every error answer carries them. */
export interface Problem { type: string, title: string, status: number, detail: string, code: string }

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout'
}

// Fastify's own client errors, mapped onto the contract's codes.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED'
}

const CODE_BY_STATUS: Record<number, string> = {
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED'
}

function problem (status: number, code: string, detail: string): Problem {
  return {
    type: `urn:lockbox-gateway:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code
  }
}

/** Maps any thrown value to the problem a client may see. */
export function toProblem (err: FastifyError | Error): Problem {
  if (err instanceof StoreUnavailableError) return toProblem(new Unavailable('the store is unavailable; try again shortly'))
  if (err instanceof ConflictError) return toProblem(new InvalidState('the resource changed concurrently; reload and retry'))
  const e = err as FastifyError
  // Fastify's validation message names the part and field: "body/decision must be equal to …".
  if (e.validation !== undefined) return problem(400, 'VALIDATION_FAILED', e.message)
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500
  if (OWN_CODES.has(e.code)) return problem(status, e.code, e.message)
  if (status >= 500) return problem(500, 'INTERNAL', 'an unexpected error occurred')
  return problem(status, FASTIFY_CODES[e.code] ?? CODE_BY_STATUS[status] ?? 'VALIDATION_FAILED', e.message)
}

/**
 * Answers with `err` as problem+json at once, without the error handler: for hooks that answer a
 * request themselves (a refusal is not a failure to log).
 */
export function sendProblem (reply: FastifyReply, err: FastifyError | Error | Problem): FastifyReply {
  const p = err instanceof Error ? toProblem(err) : err
  if (p.status === 401) reply.header('www-authenticate', 'Bearer')
  return reply.code(p.status).type('application/problem+json').send(p)
}
