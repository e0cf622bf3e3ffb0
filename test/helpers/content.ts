// Access to the content routes in tests: an approved request and its access token, a gateway
// listening on a real socket, and the audit records of one content access.
import type { TestApp } from './app.js'
import { approvedRequest, auditOf, type RequestView } from './workflow.js'

export interface Granted {
  request: RequestView
  token: string
  authorization: string
}

/** The access token of an Approved request, as its requester obtains it. */
export async function accessTokenOf (h: TestApp, requestId: string, user = 'eng-ada'): Promise<string> {
  const res = await h.as(user, { method: 'POST', url: `/v1/requests/${requestId}/token` })
  if (res.statusCode !== 201) throw new Error(`token: expected 201, got ${res.statusCode} ${res.body}`)
  return (res.json() as { accessToken: string }).accessToken
}

/** A contoso request walked to Approved (fields as for POST /v1/requests) and its access token. */
export async function granted (h: TestApp, fields: Record<string, unknown> = {}, user = 'eng-ada'): Promise<Granted> {
  const request = await approvedRequest(h, fields, user)
  const token = await accessTokenOf(h, request.id, user)
  return { request, token, authorization: `Bearer ${token}` }
}

/** Starts the app listening on 127.0.0.1:0 and returns its port. */
export async function listen (h: TestApp): Promise<number> {
  await h.app.listen({ host: '127.0.0.1', port: 0 })
  return (h.app.server.address() as { port: number }).port
}

/** The content records of a request, oldest first. */
export async function contentRecords (h: TestApp, requestId: string | null, operations = 'ContentAccessed,ContentAccessCompleted,ContentAccessDenied', tenantId = 'contoso'): Promise<Array<Record<string, any>>> {
  return await auditOf(h, `tenantId=${tenantId}&operation=${operations}${requestId === null ? '' : `&requestId=${requestId}`}`)
}

export { eventually } from './eventually.js'
