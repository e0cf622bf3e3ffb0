// GET /v1/me: who the identity token says the caller is, with the roles that count.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Me, problems } from '../schemas.js'

const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/me', {
    schema: { tags: ['operations'], security: [{ identityToken: [] }], summary: 'The caller, as the gateway sees it', response: { 200: Me, ...problems(401) } }
  }, async (request) => {
    const { id, name, email, tenantId, provider, roles } = request.caller
    return { id, name, email, tenantId, provider, roles: [...roles].sort() }
  })
}

export default meRoutes
