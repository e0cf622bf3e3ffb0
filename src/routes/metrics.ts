// GET /metrics (API.md §7): the Prometheus exposition. Outside /v1 and the content scopes; when
// LOCKBOX_METRICS_TOKEN is set, only a scraper holding it may read it.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendProblem, Unauthenticated } from '../errors.js'

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

/** Compares digests, so neither the token's length nor its bytes leak through timing. */
function holdsToken (header: string | undefined, expected: Buffer): boolean {
  if (header === undefined || header.slice(0, 7).toLowerCase() !== 'bearer ') return false
  return timingSafeEqual(digest(header.slice(7).trim()), expected)
}

export default async function metricsRoutes (app: FastifyInstance, options: { token: string | null }): Promise<void> {
  const expected = options.token === null ? null : digest(options.token)
  app.get('/metrics', {
    schema: { tags: ['operations'], summary: 'Prometheus metrics (bearer LOCKBOX_METRICS_TOKEN when set)' }
  }, async function exposeMetrics (request: FastifyRequest, reply: FastifyReply) {
    if (expected !== null && !holdsToken(request.headers.authorization, expected)) {
      return sendProblem(reply, new Unauthenticated('send Authorization: Bearer <LOCKBOX_METRICS_TOKEN>'))
    }
    const text = await app.metrics.exposition()
    return reply.header('cache-control', 'no-store').type(app.metrics.contentType).send(text)
  })
}
