// GET /v1/tenants/{tenantId}/approver-keys: a tenant's approver public keys, JWKS-style with their
// validity, public like /.well-known/jwks.json, so that a content service and an offline verifier
// can check approval proofs without an identity of their own.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFound } from '../errors.js'
import { keySet } from '../passkeys/webauthn.js'
import { ApproverKeySet, TenantParams, problems } from './schemas.js'

const approverKeysRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/tenants/:tenantId/approver-keys', {
    schema: { tags: ['passkeys'], summary: 'The tenant\'s approver public keys with their validity (public; JWKS-style)', params: TenantParams, response: { 200: ApproverKeySet, ...problems(404) } }
  }, async function publishApproverKeys (request, reply) {
    const { tenantId } = request.params
    const current = await app.tenants.getVersioned(tenantId)
    if (current === null) throw new NotFound(`tenant ${tenantId} not found`)
    reply.header('cache-control', 'public, max-age=60')
    return keySet(app.workflow.relyingParty, tenantId, current.settings?.approverKeys ?? [])
  })
}

export default approverKeysRoutes
