// Renders every error as application/problem+json with a stable `code` (API.md §7), through the
// mapping in src/errors.ts: 5xx are logged here and never echo internal messages.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { NotFound, sendProblem, toProblem } from '../../src/errors.js'

async function problemDetails (app: FastifyInstance): Promise<void> {
  app.setErrorHandler(function renderProblem (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const p = toProblem(err)
    if (p.status >= 500) request.log.error({ err }, 'request failed')
    return sendProblem(reply, p)
  })
  app.setNotFoundHandler(function renderNotFound (request, reply) {
    return sendProblem(reply, new NotFound(`no route ${request.method} ${request.url.split('?', 1)[0] as string}`))
  })
}

export default fp(problemDetails, { name: 'problem-details' })
