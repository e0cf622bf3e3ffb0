// Walks requests through the workflow over HTTP, failing loudly when a step does not answer as expected.
import type { TestApp } from './app.js'

export interface RequestView {
  id: string
  tenantId: string
  status: string
  decisionDeadline: string | null
  accessStartsAt: string | null
  accessEndsAt: string | null
  history: Array<{ at: string, action: string, actor: { id: string, role: string }, comment: string | null }>
  [key: string]: unknown
}

async function expectOk<T> (res: { statusCode: number, body: string, json: () => unknown }, status: number, what: string): Promise<T> {
  if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode} ${res.body}`)
  return res.json() as T
}

export async function openServiceRequest (h: TestApp, tenantId = 'contoso', user = `${tenantId}-user`): Promise<string> {
  const res = await h.as(user, { method: 'POST', url: `/v1/tenants/${tenantId}/service-requests`, payload: { title: 'Mail flow broken', description: 'Messages bounce' } })
  return (await expectOk<{ number: string }>(res, 201, 'open service request')).number
}

export async function createRequest (h: TestApp, fields: Record<string, unknown> = {}, user = 'eng-ada'): Promise<RequestView> {
  const tenantId = (fields.tenantId as string | undefined) ?? 'contoso'
  const serviceRequestNumber = (fields.serviceRequestNumber as string | undefined) ?? await openServiceRequest(h, tenantId)
  const res = await h.as(user, {
    method: 'POST',
    url: '/v1/requests',
    payload: { tenantId, serviceRequestNumber, workload: 'exchange', duration: 'PT2H', justification: 'Mailbox rule loop', scope: '/mailboxes/alice@contoso.com', ...fields }
  })
  return await expectOk<RequestView>(res, 201, 'create request')
}

export async function review (h: TestApp, id: string, decision: 'Approve' | 'Reject' = 'Approve', user = 'mgr-carol'): Promise<RequestView> {
  return await expectOk<RequestView>(await h.as(user, { method: 'POST', url: `/v1/requests/${id}/review`, payload: { decision } }), 200, 'review')
}

export async function decide (h: TestApp, id: string, decision: 'Approve' | 'Deny' = 'Approve', user = 'contoso-approver'): Promise<RequestView> {
  return await expectOk<RequestView>(await h.as(user, { method: 'POST', url: `/v1/requests/${id}/decision`, payload: { decision } }), 200, 'decision')
}

/** A contoso request taken all the way to Approved. */
export async function approvedRequest (h: TestApp, fields: Record<string, unknown> = {}, user = 'eng-ada'): Promise<RequestView> {
  const req = await createRequest(h, fields, user)
  await review(h, req.id)
  return await decide(h, req.id, 'Approve', `${req.tenantId}-approver`)
}

export async function auditOf (h: TestApp, query: string, user = 'sec-erin'): Promise<Array<Record<string, any>>> {
  const res = await h.as(user, { method: 'GET', url: `/v1/audit?${query}&limit=1000` })
  return (await expectOk<{ items: Array<Record<string, any>> }>(res, 200, 'audit search')).items
}
