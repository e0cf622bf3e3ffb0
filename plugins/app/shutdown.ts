// Requests that arrive while the server drains (app.close()): on a kept-alive or pipelined
// connection they still reach the router. Fastify would answer them with its own
// `503 {"error":"Service Unavailable"}`; every answer of ours is problem+json, and a content request
// is refused by its own guard instead (with an access id and, as any refusal, a record).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { sendProblem, Unavailable } from '../../src/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** True from the moment the app starts closing. */
    shuttingDown: () => boolean
  }
  interface FastifyContextConfig {
    /** A content route: its guard answers for it while shutting down. */
    contentRoute?: boolean
  }
}

async function shutdown (app: FastifyInstance): Promise<void> {
  let closing = false
  app.decorate('shuttingDown', () => closing)
  // Registered before any other preClose hook, so it runs first, in the same tick Fastify starts
  // closing its routes: no request falls between the two.
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onRequest', async (request, reply) => {
    if (!closing || request.routeOptions.config.contentRoute === true) return
    return sendProblem(reply, new Unavailable('the gateway is shutting down; retry shortly'))
  })
}

export default fp(shutdown, { name: 'shutdown' })
