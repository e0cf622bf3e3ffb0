// Every error a client can see, with the stable upper-snake `code` of the API contract.
// Thrown anywhere; rendered once, as problem+json, by plugins/app/problem-details.ts.
import createError, { type FastifyErrorConstructor } from '@fastify/error'

const codes = new Set<string>()

/** An error class whose message is written for the client (it is shown even on a 5xx). */
function define (code: string, status: number): FastifyErrorConstructor<{ code: string }, [string]> {
  codes.add(code)
  return createError<[string]>(code, '%s', status)
}

/** Every code defined here: the problem renderer trusts these errors' messages. */
export const OWN_CODES: ReadonlySet<string> = codes

export const ValidationFailed = define('VALIDATION_FAILED', 400)
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
export const PathRejected = define('PATH_REJECTED', 400)
export const PasskeyInvalid = define('PASSKEY_INVALID', 400)
export const SignedApprovalRequired = define('SIGNED_APPROVAL_REQUIRED', 400)
export const ApprovalSignatureInvalid = define('APPROVAL_SIGNATURE_INVALID', 400)
export const ApprovalNotProven = define('APPROVAL_NOT_PROVEN', 403)
export const Unavailable = define('UNAVAILABLE', 503)
export const BadGateway = define('UPSTREAM_UNAVAILABLE', 502)
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
