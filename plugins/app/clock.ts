// The app's clock (epoch ms): the one every plugin and route reads, so a test that moves it moves
// every deadline at once.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyInstance {
    now: () => number
  }
}

async function clock (app: FastifyInstance, options: { now: () => number }): Promise<void> {
  app.decorate('now', options.now)
}

export default fp(clock, { name: 'clock' })
