// Approval policy a customer controls (issue 18): a quorum of distinct approvers, and grants an
// approver narrows, carried through the token, the gateway's checks, the upstream assertion and the log.
import t from 'tap'
import { decodeJwt } from 'jose'
import { START, startTestApp, type TestApp } from '../../helpers/app.js'
import { accessTokenOf, contentRecords } from '../../helpers/content.js'
import { startAppBehindUpstream } from '../../helpers/recording-upstream.js'
import { auditOf, createRequest, review, type RequestView } from '../../helpers/workflow.js'

const HOUR = 3600_000
const ALICE = '/mailboxes/alice@contoso.com'

async function setQuorum (h: TestApp, approvalsRequired: number): Promise<void> {
  const res = await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { approvalsRequired } })
  if (res.statusCode !== 200) throw new Error(`quorum: ${res.statusCode} ${res.body}`)
}

async function decision (h: TestApp, id: string, user: string, payload: Record<string, unknown>): Promise<{ statusCode: number, json: () => any }> {
  return await h.as(user, { method: 'POST', url: `/v1/requests/${id}/decision`, payload })
}

async function awaitingCustomer (h: TestApp, fields: Record<string, unknown> = {}): Promise<RequestView> {
  const req = await createRequest(h, fields)
  return await review(h, req.id)
}

t.test('a GlobalAdministrator sets the quorum, 1 to 5, recorded as TenantSettingsUpdated', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const patch = async (user: string, payload: unknown): Promise<{ statusCode: number, json: () => any }> =>
    await h.as(user, { method: 'PATCH', url: '/v1/tenants/contoso', payload: payload as object })
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso' })).json().approvalsRequired, 1, 'existing tenants: one approver')
  const res = await patch('contoso-admin', { approvalsRequired: 2 })
  t.equal(res.statusCode, 200)
  t.equal(res.json().approvalsRequired, 2)
  t.equal(res.json().lockboxEnabled, true, 'other settings keep their value')
  t.equal((await h.as('eng-ada', { method: 'GET', url: '/v1/tenants/contoso' })).json().approvalsRequired, 2)
  const [record] = await auditOf(h, 'tenantId=contoso&operation=TenantSettingsUpdated')
  t.same(record?.details.changes, { approvalsRequired: { from: 1, to: 2 } })
  for (const bad of [0, 6, 1.5, '2']) t.equal((await patch('contoso-admin', { approvalsRequired: bad })).statusCode, 400, `refuses ${String(bad)}`)
  t.equal((await patch('contoso-approver', { approvalsRequired: 1 })).statusCode, 403)
  t.equal((await patch('contoso-admin', { lockboxEnabled: true })).json().approvalsRequired, 2, 'a patch without it keeps it')
})

t.test('a quorum of two: each approval recorded, the same person counts once, the second opens the window', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await setQuorum(h, 2)
  const req = await awaitingCustomer(h)
  t.equal(req.approvalsRequired, 2)
  t.same(req.approvals, [])
  await setQuorum(h, 1)

  h.advance(1000)
  const first = await decision(h, req.id, 'contoso-approver', { decision: 'Approve', comment: 'looked at the SR' })
  t.equal(first.statusCode, 200)
  t.equal(first.json().status, 'AwaitingCustomerApproval', 'a later settings change does not move the goalposts')
  t.same(first.json().approvals, [{
    by: 'contoso-approver',
    at: new Date(START + 1000).toISOString(),
    comment: 'looked at the SR',
    onBehalfOf: null,
    granted: { scope: ALICE, accessLevel: 'read', duration: 'PT2H' }
  }])
  t.equal(first.json().accessStartsAt, null)

  const again = await decision(h, req.id, 'contoso-approver', { decision: 'Approve' })
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'ALREADY_APPROVED')
  t.equal((await decision(h, req.id, 'mgr-carol', { decision: 'Approve' })).statusCode, 403, 'provider staff never count')
  t.equal((await decision(h, req.id, 'sec-erin', { decision: 'Approve' })).statusCode, 403)
  t.equal((await decision(h, req.id, 'contoso-user', { decision: 'Approve' })).statusCode, 404)
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })).statusCode, 409, 'no token before the quorum')

  h.advance(1000)
  const second = await decision(h, req.id, 'contoso-admin', { decision: 'Approve' })
  t.equal(second.statusCode, 200)
  t.equal(second.json().status, 'Approved')
  t.equal(second.json().accessStartsAt, new Date(START + 2000).toISOString())
  t.equal(second.json().accessEndsAt, new Date(START + 2000 + 2 * HOUR).toISOString())
  t.same(second.json().approvals.map((a: { by: string }) => a.by), ['contoso-approver', 'contoso-admin'])
  t.same(second.json().history.map((e: { action: string }) => e.action), ['Created', 'ManagerApproved', 'ApprovalAdded', 'Approved'])
  t.same(second.json().granted, { scope: ALICE, accessLevel: 'read', duration: 'PT2H' })

  const records = await auditOf(h, `tenantId=contoso&requestId=${req.id}&operation=LockboxRequestApprovalAdded,LockboxRequestApproved`)
  t.same(records.map((r) => [r.operation, r.actor.id, r.details.approvals, r.details.required, r.details.status]), [
    ['LockboxRequestApprovalAdded', 'contoso-approver', 1, 2, 'AwaitingCustomerApproval'],
    ['LockboxRequestApproved', 'contoso-admin', 2, 2, 'Approved']
  ])
  const verify = await h.as('sec-erin', { method: 'GET', url: '/v1/audit/verify?tenantId=contoso' })
  t.match(verify.json(), { valid: true })
})

t.test('any deny ends a quorum at once', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await setQuorum(h, 2)
  const req = await awaitingCustomer(h)
  t.equal((await decision(h, req.id, 'contoso-approver', { decision: 'Approve' })).statusCode, 200)
  const denied = await decision(h, req.id, 'contoso-admin', { decision: 'Deny', comment: 'not this week' })
  t.equal(denied.json().status, 'Denied')
  t.equal((await decision(h, req.id, 'contoso-admin', { decision: 'Approve' })).statusCode, 409)
})

t.test('an approver narrows the grant: the token, the gateway, the assertion and the records carry it', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  const req = await awaitingCustomer(h, { accessLevel: 'readwrite' })
  const narrowed = await decision(h, req.id, 'contoso-approver', { decision: 'Approve', duration: 'PT30M', scope: `${ALICE}/messages`, accessLevel: 'read' })
  t.equal(narrowed.statusCode, 200)
  const view = narrowed.json()
  t.same([view.scope, view.accessLevel, view.duration], [ALICE, 'readwrite', 'PT2H'], 'what was requested stays as it was')
  t.same(view.granted, { scope: `${ALICE}/messages`, accessLevel: 'read', duration: 'PT30M' })
  t.equal(Date.parse(view.accessEndsAt) - Date.parse(view.accessStartsAt), HOUR / 2, 'the window is the granted one')

  const token = await accessTokenOf(h, req.id)
  t.match(decodeJwt(token), { scope: `${ALICE}/messages`, accessLevel: 'read', exp: Math.floor(Date.parse(view.accessEndsAt) / 1000) })
  const authorization = `Bearer ${token}`
  const inside = await h.app.inject({ method: 'GET', url: `/exchange/contoso${ALICE}/messages/AAMk-1`, headers: { authorization } })
  t.equal(inside.statusCode, 200)
  t.match(decodeJwt(upstream.requests[0]?.headers['x-lockbox-assertion'] as string), { scope: `${ALICE}/messages`, accessLevel: 'read' })
  const outside = await h.app.inject({ method: 'GET', url: `/exchange/contoso${ALICE}/calendar`, headers: { authorization } })
  t.equal(outside.statusCode, 403, 'requested, but not granted')
  t.equal(outside.json().code, 'OUT_OF_SCOPE')
  const write = await h.app.inject({ method: 'DELETE', url: `/exchange/contoso${ALICE}/messages/AAMk-1`, headers: { authorization } })
  t.equal(write.statusCode, 403)
  t.equal(upstream.requests.length, 1, 'only the granted access reached the upstream')

  const [approvedRecord] = await auditOf(h, `tenantId=contoso&requestId=${req.id}&operation=LockboxRequestApproved`)
  t.same(approvedRecord?.details.granted, view.granted)
  t.equal(approvedRecord?.details.accessLevel, 'readwrite', 'the record says what was asked, and what was granted')
  const [issued] = await auditOf(h, `tenantId=contoso&requestId=${req.id}&operation=LockboxAccessTokenIssued`)
  t.match(issued, { object: `${ALICE}/messages`, details: { scope: `${ALICE}/messages`, accessLevel: 'read' } })
  t.equal((await contentRecords(h, req.id, 'ContentAccessed')).length, 1)
})

t.test('refuses a widening with 422 GRANT_WIDENED, and a narrowed denial with 400', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await awaitingCustomer(h)
  for (const payload of [{ duration: 'PT3H' }, { scope: '/mailboxes' }, { accessLevel: 'readwrite' }]) {
    const res = await decision(h, req.id, 'contoso-approver', { decision: 'Approve', ...payload })
    t.equal(res.statusCode, 422, JSON.stringify(payload))
    t.equal(res.json().code, 'GRANT_WIDENED')
  }
  t.equal((await decision(h, req.id, 'contoso-approver', { decision: 'Approve', duration: 'P1D' })).json().code, 'VALIDATION_FAILED')
  t.equal((await decision(h, req.id, 'contoso-approver', { decision: 'Deny', duration: 'PT1H' })).statusCode, 400)
  const exact = await decision(h, req.id, 'contoso-approver', { decision: 'Approve' })
  t.same(exact.json().granted, { scope: ALICE, accessLevel: 'read', duration: 'PT2H' }, 'no narrowing: exactly what was asked')
})

t.test('with a quorum the grant is the intersection of what every approver allowed', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await setQuorum(h, 2)
  const req = await awaitingCustomer(h, { scope: '/mailboxes', accessLevel: 'readwrite' })
  const first = await decision(h, req.id, 'contoso-approver', { decision: 'Approve', duration: 'PT1H', scope: ALICE })
  t.same(first.json().granted, { scope: ALICE, accessLevel: 'readwrite', duration: 'PT1H' }, 'what is allowed so far')
  const disjoint = await decision(h, req.id, 'contoso-admin', { decision: 'Approve', scope: '/mailboxes/bob@contoso.com' })
  t.equal(disjoint.statusCode, 422)
  t.equal(disjoint.json().code, 'GRANT_DISJOINT')
  const second = await decision(h, req.id, 'contoso-admin', { decision: 'Approve', accessLevel: 'read', scope: `${ALICE}/messages` })
  t.equal(second.json().status, 'Approved')
  t.same(second.json().granted, { scope: `${ALICE}/messages`, accessLevel: 'read', duration: 'PT1H' })
  t.same(second.json().approvals.map((a: { granted: unknown }) => a.granted), [
    { scope: ALICE, accessLevel: 'readwrite', duration: 'PT1H' },
    { scope: `${ALICE}/messages`, accessLevel: 'read', duration: 'PT2H' }
  ], 'each approval keeps what that approver allowed')
})

t.test('the OpenAPI document describes the approval policy from the route schemas', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const doc = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.ok(doc.paths['/v1/requests/{id}/extend']?.post)
  t.ok(doc.paths['/v1/tenants/{tenantId}/delegations']?.post)
  t.ok(doc.paths['/v1/tenants/{tenantId}/delegations']?.get)
  t.ok(doc.paths['/v1/tenants/{tenantId}/delegations/{delegationId}/revoke']?.post)
  const decision = doc.paths['/v1/requests/{id}/decision'].post.requestBody.content['application/json'].schema
  t.same(Object.keys(decision.properties).sort(), ['accessLevel', 'comment', 'decision', 'duration', 'onBehalfOf', 'scope', 'webauthn'])
  const request = doc.components.schemas.LockboxRequest
  for (const field of ['approvals', 'approvalsRequired', 'granted', 'extension']) t.ok(request.properties[field], field)
  t.ok(doc.components.schemas.Tenant.properties.approvalsRequired)
  t.ok(doc.components.schemas.Delegation)
})
