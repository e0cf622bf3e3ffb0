// Every error a client can see, with the stable upper-snake `code` of the API contract.
// Thrown anywhere; rendered once, as problem+json, by plugins/app/problem-details.ts.
import createError from '@fastify/error'

export const ValidationFailed = createError<[string]>('VALIDATION_FAILED', '%s', 400)
export const Unauthenticated = createError<[string]>('UNAUTHENTICATED', '%s', 401)
export const TokenInvalid = createError<[string]>('TOKEN_INVALID', '%s', 401)
export const Forbidden = createError<[string]>('FORBIDDEN', '%s', 403)
export const SeparationOfDuties = createError<[string]>('SEPARATION_OF_DUTIES', '%s', 403)
export const OutOfScope = createError<[string]>('OUT_OF_SCOPE', '%s', 403)
export const GrantInactive = createError<[string]>('GRANT_INACTIVE', '%s', 403)
export const NotFound = createError<[string]>('NOT_FOUND', '%s', 404)
export const InvalidState = createError<[string]>('INVALID_STATE', '%s', 409)
export const ServiceRequestInvalid = createError<[string]>('SERVICE_REQUEST_INVALID', '%s', 422)
export const PathRejected = createError<[string]>('PATH_REJECTED', '%s', 400)
export const Unavailable = createError<[string]>('UNAVAILABLE', '%s', 503)
export const BadGateway = createError<[string]>('UPSTREAM_UNAVAILABLE', '%s', 502)
export const GatewayTimeout = createError<[string]>('UPSTREAM_TIMEOUT', '%s', 504)

/** Raised by a store when a compare-and-set lost the race: someone else changed the entity first. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError'
}

/** Raised by a store that cannot answer (down, closed, timed out). Callers fail closed with 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
}
