// GET /v1/me: who the identity token says the caller is, with the roles that count.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { problems } from '../schemas.js'

const Me = Type.Object({
  id: Type.String(),
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  tenantId: Type.String(),
  provider: Type.Boolean({ description: 'true for provider staff (tid = LOCKBOX_PROVIDER_TENANT_ID)' }),
  roles: Type.Array(Type.String(), { description: 'Only the roles that count for the caller\'s organisation' })
})

const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/me', {
    schema: { tags: ['operations'], security: [{ identityToken: [] }], summary: 'The caller, as the gateway sees it', response: { 200: Me, ...problems(401) } }
  }, async (request) => {
    const { id, name, email, tenantId, provider, roles } = request.caller
    return { id, name, email, tenantId, provider, roles: [...roles].sort() }
  })
}

export default meRoutes
