// Renders every error as application/problem+json with a stable `code` (API.md §7). 5xx never echo
// internal messages: whatever jose, the store or undici said stays in the log.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ConflictError, OWN_CODES, StoreUnavailableError } from '../../src/errors.js'

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

export function problem (status: number, code: string, detail: string): Problem {
  return {
    type: `urn:lockbox-gateway:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code
  }
}

export function sendProblem (reply: FastifyReply, p: Problem): FastifyReply {
  if (p.status === 401) reply.header('www-authenticate', 'Bearer')
  return reply.code(p.status).type('application/problem+json').send(p)
}

/** Maps any thrown value to the problem a client may see. */
export function toProblem (err: FastifyError | Error): Problem {
  if (err instanceof StoreUnavailableError) return problem(503, 'UNAVAILABLE', 'the store is unavailable; try again shortly')
  if (err instanceof ConflictError) return problem(409, 'INVALID_STATE', 'the resource changed concurrently; reload and retry')
  const e = err as FastifyError
  // Fastify's validation message names the part and field: "body/decision must be equal to …".
  if (e.validation !== undefined) return problem(400, 'VALIDATION_FAILED', e.message)
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500
  if (OWN_CODES.has(e.code)) return problem(status, e.code, e.message)
  if (status >= 500) return problem(500, 'INTERNAL', 'an unexpected error occurred')
  return problem(status, FASTIFY_CODES[e.code] ?? CODE_BY_STATUS[status] ?? 'VALIDATION_FAILED', e.message)
}

async function problemDetails (app: FastifyInstance): Promise<void> {
  app.setErrorHandler(function renderProblem (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const p = toProblem(err)
    if (p.status >= 500) request.log.error({ err }, 'request failed')
    return sendProblem(reply, p)
  })
  app.setNotFoundHandler(function renderNotFound (request, reply) {
    return sendProblem(reply, problem(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?', 1)[0] as string}`))
  })
}

export default fp(problemDetails, { name: 'problem-details' })
