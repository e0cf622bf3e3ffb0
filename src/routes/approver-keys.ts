// GET /v1/tenants/{tenantId}/approver-keys: a tenant's approver public keys, JWKS-style with their
// validity, public like /.well-known/jwks.json, so that a content service and an offline verifier
// can check approval proofs without an identity of their own.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { publishedApproverKeys } from '../workflow/passkeys.js'
import { ApproverKeySet, TenantParams, problems } from './schemas.js'

const approverKeysRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/tenants/:tenantId/approver-keys', {
    schema: { tags: ['passkeys'], summary: 'The tenant\'s approver public keys with their validity (public; JWKS-style)', params: TenantParams, response: { 200: ApproverKeySet, ...problems(404) } }
  }, async function publishApproverKeys (request, reply) {
    const set = await publishedApproverKeys(app.workflow, request.params.tenantId)
    reply.header('cache-control', 'public, max-age=60')
    return set
  })
}

export default approverKeysRoutes
