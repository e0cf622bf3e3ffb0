// Lockbox requests and their approval workflow (API.md §3).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import Type from 'typebox'
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { viewRequest } from '../../domain/lockbox.js'
import { requestVisibility } from '../../domain/policy.js'
import { Forbidden } from '../../errors.js'
import { actingOf } from '../../workflow/context.js'
import { actOnRequest, createLockboxRequest, loadVisibleRequest } from '../../workflow/requests.js'
import { issueToken } from '../../workflow/tokens.js'
import { requestExtension } from '../../workflow/extensions.js'
import { standInFor } from '../../workflow/delegations.js'
import { CommentBody, CreateRequestBody, DecisionBody, ExtendBody, IssuedToken, RequestListQuery, RequestParams, ReviewBody, pageOf, problems } from '../schemas.js'

const security = [{ identityToken: [] }]
const RequestRef = Type.Ref('LockboxRequest')
const actionResponses = { 200: RequestRef, ...problems(400, 401, 403, 404, 409) }

/** Revoke and cancel take an optional body: `curl -X POST` with none at all is fine. */
async function emptyBodyAsObject (request: FastifyRequest): Promise<void> {
  request.body ??= {}
}

const requestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.workflow

  app.post('/requests', {
    schema: { tags: ['requests'], security, summary: 'Ask for access to a tenant\'s content (SupportEngineer)', body: CreateRequestBody, response: { 201: RequestRef, ...problems(400, 401, 403, 422) } }
  }, async (request, reply) => {
    const req = await createLockboxRequest(ctx, actingOf(request), request.body)
    return await reply.code(201).send(viewRequest(req, app.now()))
  })

  app.get('/requests', {
    schema: { tags: ['requests'], security, summary: 'Lockbox requests visible to the caller, newest first', querystring: RequestListQuery, response: { 200: pageOf(RequestRef), ...problems(400, 401, 403) } }
  }, async (request) => {
    // A delegate of approving sees their tenant's requests while the delegation runs.
    const visibility = requestVisibility(request.caller) ??
      (await standInFor(ctx, request.caller, request.caller.tenantId) === null ? null : { tenantId: request.caller.tenantId })
    const { tenantId, status, limit, cursor } = request.query
    if (visibility === null) throw new Forbidden('you may not list lockbox requests')
    if (visibility.tenantId !== undefined && tenantId !== undefined && tenantId !== visibility.tenantId) {
      throw new Forbidden(`you may not list the lockbox requests of ${tenantId}`)
    }
    const now = app.now()
    const page = await app.stores.lockbox.listRequests({
      tenantId: visibility.tenantId ?? tenantId,
      requesterId: visibility.requesterId,
      status,
      now,
      // The querystring schema's default fills it.
      limit: limit as number,
      cursor
    })
    return { items: page.items.map((r) => viewRequest(r, now)), nextCursor: page.nextCursor }
  })

  app.get('/requests/:id', {
    schema: { tags: ['requests'], security, summary: 'One lockbox request with its history', params: RequestParams, response: { 200: RequestRef, ...problems(401, 404) } }
  }, async (request) => viewRequest(await loadVisibleRequest(ctx, request.caller, request.params.id), app.now()))

  app.post('/requests/:id/review', {
    schema: { tags: ['requests'], security, summary: 'Internal first stage: approve or reject (SupportManager, never the requester)', params: RequestParams, body: ReviewBody, response: actionResponses }
  }, async (request) => viewRequest(await actOnRequest(ctx, actingOf(request), request.params.id, { kind: 'review', ...request.body }), app.now()))

  app.post('/requests/:id/decision', {
    schema: {
      tags: ['requests'],
      security,
      summary: 'The customer\'s decision (GlobalAdministrator or CustomerLockboxApprover); an approval may narrow the grant, and counts towards the tenant\'s quorum',
      params: RequestParams,
      body: DecisionBody,
      response: { ...actionResponses, ...problems(422) }
    }
  }, async (request) => viewRequest(await actOnRequest(ctx, actingOf(request), request.params.id, { kind: 'decision', ...request.body, webauthn: request.body.webauthn === undefined ? undefined : { clientExtensionResults: {}, ...request.body.webauthn } as AuthenticationResponseJSON }), app.now()))

  app.post('/requests/:id/revoke', {
    preValidation: emptyBodyAsObject,
    schema: { tags: ['requests'], security, summary: 'End approved access now (GlobalAdministrator or CustomerLockboxApprover)', params: RequestParams, body: CommentBody, response: actionResponses }
  }, async (request) => viewRequest(await actOnRequest(ctx, actingOf(request), request.params.id, { kind: 'revoke', comment: request.body.comment }), app.now()))

  app.post('/requests/:id/extend', {
    schema: {
      tags: ['requests'],
      security,
      summary: 'Ask for a longer window while the access continues (the requester); reviewed and decided like the request',
      params: RequestParams,
      body: ExtendBody,
      response: actionResponses
    }
  }, async (request) => viewRequest(await requestExtension(ctx, actingOf(request), request.params.id, request.body), app.now()))

  app.post('/requests/:id/token', {
    schema: {
      tags: ['requests'],
      security,
      summary: 'The access token of an Approved request (the requester); exp never beyond accessEndsAt',
      params: RequestParams,
      response: {
        201: IssuedToken,
        ...problems(401, 403, 404, 409)
      }
    }
  }, async (request, reply) => {
    const issued = await issueToken(ctx, app.gateway.keys, actingOf(request), request.params.id)
    return await reply.code(201).send({ accessToken: issued.accessToken, tokenType: 'Bearer' as const, expiresAt: issued.expiresAt })
  })

  app.post('/requests/:id/cancel', {
    preValidation: emptyBodyAsObject,
    schema: { tags: ['requests'], security, summary: 'Withdraw a request (the requester)', params: RequestParams, body: CommentBody, response: actionResponses }
  }, async (request) => viewRequest(await actOnRequest(ctx, actingOf(request), request.params.id, { kind: 'cancel', comment: request.body.comment }), app.now()))
}

export default requestRoutes
