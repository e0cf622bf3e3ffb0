// GET /.well-known/jwks.json: the public keys that verify access tokens, assertions and checkpoints.
import type { FastifyInstance } from 'fastify'

export default async function jwksRoutes (app: FastifyInstance): Promise<void> {
  app.get('/.well-known/jwks.json', {
    schema: { tags: ['operations'], summary: 'The gateway\'s public signing keys (JWK Set)' }
  }, async function publishKeys (_request, reply) {
    reply.header('cache-control', 'public, max-age=300')
    return app.gateway.keys.jwks
  })
}
