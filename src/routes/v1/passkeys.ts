// Approver passkeys (issue 19): registration, listing and revocation per tenant, and the challenge an
// approver signs to approve a request.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RegistrationResponseJSON } from '@simplewebauthn/server'
import Type from 'typebox'
import type { ApproverKey as StoredKey } from '../../domain/tenant.js'
import { actingOf } from '../../workflow/context.js'
import { listApproverKeys, passkeyRegistrationOptions, registerApproverKey, revokeApproverKey, type PasskeyContext } from '../../workflow/passkeys.js'
import { approvalChallenge } from '../../workflow/requests.js'
import { ApprovalChallenge, ApproverKeyParams, Narrowing, RequestParams, TenantParams, WebAuthnRegistration, problems } from '../schemas.js'

const security = [{ identityToken: [] }]
const KeyRef = Type.Ref('ApproverKey')

/** What the API shows of a stored key: who, which algorithm, when; the key itself is at /approver-keys. */
function viewKey (key: StoredKey): Omit<StoredKey, 'jwk' | 'cosePublicKey' | 'transports'> {
  const { jwk: _jwk, cosePublicKey: _cose, transports: _transports, ...rest } = key
  return rest
}

const passkeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.workflow
  const pk = (): PasskeyContext => ({ rp: ctx.relyingParty, keys: app.gateway.keys })

  app.get('/tenants/:tenantId/passkeys', {
    schema: { tags: ['passkeys'], security, summary: 'The tenant\'s approver passkeys, revoked ones included (its approvers)', params: TenantParams, response: { 200: Type.Object({ items: Type.Array(KeyRef) }), ...problems(401, 403, 404) } }
  }, async (request) => ({ items: (await listApproverKeys(ctx, request.caller, request.params.tenantId)).map(viewKey) }))

  app.post('/tenants/:tenantId/passkeys/registration-options', {
    schema: { tags: ['passkeys'], security, summary: 'WebAuthn options to register a passkey (the caller, an approver of the tenant)', params: TenantParams, response: { 200: Type.Unknown(), ...problems(401, 403, 404) } }
  }, async (request) => await passkeyRegistrationOptions(ctx, pk(), request.caller, request.params.tenantId))

  app.post('/tenants/:tenantId/passkeys', {
    schema: { tags: ['passkeys'], security, summary: 'Register the caller\'s passkey (recorded as ApproverKeyRegistered)', params: TenantParams, body: WebAuthnRegistration, response: { 201: KeyRef, ...problems(400, 401, 403, 404, 409) } }
  }, async (request, reply) => {
    const response = { clientExtensionResults: {}, ...request.body } as unknown as RegistrationResponseJSON
    const key = await registerApproverKey(ctx, pk(), actingOf(request), request.params.tenantId, response)
    return await reply.code(201).send(viewKey(key))
  })

  app.post('/tenants/:tenantId/passkeys/:kid/revoke', {
    schema: { tags: ['passkeys'], security, summary: 'Revoke a passkey (a GlobalAdministrator, or its owner; recorded as ApproverKeyRevoked)', params: ApproverKeyParams, response: { 200: KeyRef, ...problems(401, 403, 404, 409) } }
  }, async (request) => viewKey(await revokeApproverKey(ctx, actingOf(request), request.params.tenantId, request.params.kid)))

  app.post('/requests/:id/approval-options', {
    preValidation: async function emptyBodyAsObject (request) { request.body ??= {} },
    schema: {
      tags: ['requests'],
      security,
      summary: 'The canonical grant an approver signs to allow this access (narrowed as in the body, as for /decision), and the WebAuthn options to sign it',
      params: RequestParams,
      body: Narrowing,
      response: { 200: ApprovalChallenge, ...problems(400, 401, 403, 404, 409, 422) }
    }
  }, async (request) => await approvalChallenge(ctx, request.caller, request.params.id, request.body))
}

export default passkeyRoutes
