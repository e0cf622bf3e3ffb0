// Liveness and readiness (API.md §7). Outside /v1: no identity needed, never caught by proxy auth.
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { sendProblem, Unavailable } from '../errors.js'

const Status = Type.Object({ status: Type.String() })
/** `pid` tells which process answered, when several share the port (LOCKBOX_WORKERS). */
const Liveness = Type.Object({ status: Type.String(), pid: Type.Integer() })

export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  // While the app closes, Fastify itself answers every new request (this one too) with 503: a load
  // balancer stops sending traffic at once, while requests in flight drain.

  app.get('/healthz', {
    schema: { tags: ['operations'], summary: 'The process is alive', response: { 200: Liveness } }
  }, async () => ({ status: 'ok', pid: process.pid }))

  app.get('/readyz', {
    schema: { tags: ['operations'], summary: 'The stores answer and the process is not draining', response: { 200: Status } }
  }, async function checkReadiness (_request, reply) {
    if (!await app.stores.ping()) return sendProblem(reply, new Unavailable('the store does not answer'))
    return { status: 'ready' }
  })
}
