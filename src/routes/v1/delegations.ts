// Delegations of approving (issue 18): an approver away hands their approving to someone of the tenant.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { viewDelegation } from '../../domain/delegation.js'
import { actingOf } from '../../workflow/context.js'
import { createDelegation, listDelegations, revokeDelegation } from '../../workflow/delegations.js'
import { DelegationBody, DelegationParams, TenantParams, problems } from '../schemas.js'

const security = [{ identityToken: [] }]
const DelegationRef = Type.Ref('Delegation')

const delegationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.workflow

  app.post('/tenants/:tenantId/delegations', {
    schema: {
      tags: ['tenants'],
      security,
      summary: 'Delegate approving to another person of the tenant until a time (CustomerLockboxApprover or GlobalAdministrator; from defaults to the caller)',
      params: TenantParams,
      body: DelegationBody,
      response: { 201: DelegationRef, ...problems(400, 401, 403, 404, 422) }
    }
  }, async (request, reply) => {
    const delegation = await createDelegation(ctx, actingOf(request), request.params.tenantId, request.body)
    return await reply.code(201).send(viewDelegation(delegation, app.now()))
  })

  app.get('/tenants/:tenantId/delegations', {
    schema: {
      tags: ['tenants'],
      security,
      summary: 'The tenant\'s current delegations (approvers: all; a delegate: the ones they hold)',
      params: TenantParams,
      response: { 200: Type.Object({ items: Type.Array(DelegationRef), nextCursor: Type.Null() }), ...problems(401, 403, 404) }
    }
  }, async (request) => {
    const now = app.now()
    const items = await listDelegations(ctx, request.caller, request.params.tenantId)
    return { items: items.map((d) => viewDelegation(d, now)), nextCursor: null }
  })

  app.post('/tenants/:tenantId/delegations/:delegationId/revoke', {
    schema: {
      tags: ['tenants'],
      security,
      summary: 'End a delegation now (the delegator, the delegate or a GlobalAdministrator)',
      params: DelegationParams,
      response: { 200: DelegationRef, ...problems(401, 403, 404, 409) }
    }
  }, async (request) => viewDelegation(await revokeDelegation(ctx, actingOf(request), request.params.tenantId, request.params.delegationId), app.now()))
}

export default delegationRoutes
