// Tenants and service requests (API.md §2).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { viewServiceRequest } from '../../domain/tenant.js'
import { actingOf } from '../../workflow/context.js'
import {
  closeServiceRequest, openServiceRequest, readServiceRequest, readTenant, requireServiceRequestReader, updateTenantSettings
} from '../../workflow/service-requests.js'
import { PageQuery, ServiceRequestBody, ServiceRequestParams, TenantParams, TenantPatch, pageOf, problems } from '../schemas.js'

const security = [{ identityToken: [] }]
const TenantRef = Type.Ref('Tenant')
const ServiceRequestRef = Type.Ref('ServiceRequest')

const tenantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.workflow

  app.get('/tenants/:tenantId', {
    schema: { tags: ['tenants'], security, summary: 'A tenant and its lockbox settings', params: TenantParams, response: { 200: TenantRef, ...problems(401, 403, 404) } }
  }, async (request) => await readTenant(ctx, request.caller, request.params.tenantId))

  app.patch('/tenants/:tenantId', {
    schema: { tags: ['tenants'], security, summary: 'Change lockbox settings (GlobalAdministrator)', params: TenantParams, body: TenantPatch, response: { 200: TenantRef, ...problems(400, 401, 403, 404) } }
  }, async (request) => await updateTenantSettings(ctx, actingOf(request), request.params.tenantId, request.body))

  app.post('/tenants/:tenantId/service-requests', {
    schema: { tags: ['service-requests'], security, summary: 'Open a service request', params: TenantParams, body: ServiceRequestBody, response: { 201: ServiceRequestRef, ...problems(400, 401, 403, 404) } }
  }, async (request, reply) => {
    const sr = await openServiceRequest(ctx, actingOf(request), request.params.tenantId, request.body)
    return await reply.code(201).send(viewServiceRequest(sr))
  })

  app.get('/tenants/:tenantId/service-requests', {
    schema: { tags: ['service-requests'], security, summary: 'Service requests of a tenant, newest first', params: TenantParams, querystring: PageQuery, response: { 200: pageOf(ServiceRequestRef), ...problems(400, 401, 403, 404) } }
  }, async (request) => {
    await requireServiceRequestReader(ctx, request.caller, request.params.tenantId)
    const page = await app.stores.lockbox.listServiceRequests(request.params.tenantId, { limit: request.query.limit as number, cursor: request.query.cursor })
    return { items: page.items.map(viewServiceRequest), nextCursor: page.nextCursor }
  })

  app.get('/tenants/:tenantId/service-requests/:number', {
    schema: { tags: ['service-requests'], security, summary: 'One service request', params: ServiceRequestParams, response: { 200: ServiceRequestRef, ...problems(401, 404) } }
  }, async (request) => viewServiceRequest(await readServiceRequest(ctx, request.caller, request.params.tenantId, request.params.number)))

  app.post('/tenants/:tenantId/service-requests/:number/close', {
    schema: {
      tags: ['service-requests'],
      security,
      summary: 'Close a service request: cancels its undecided lockbox requests and ends its active access',
      params: ServiceRequestParams,
      response: { 200: ServiceRequestRef, ...problems(401, 404, 409) }
    }
  }, async (request) => viewServiceRequest(await closeServiceRequest(ctx, actingOf(request), request.params.tenantId, request.params.number)))
}

export default tenantRoutes
