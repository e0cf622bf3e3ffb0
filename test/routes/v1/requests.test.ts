import t from 'tap'
import { START, startTestApp } from '../../helpers/app.js'
import { approvedRequest, auditOf, createRequest, decide, openServiceRequest, review } from '../../helpers/workflow.js'
import { sweepOnce } from '../../../src/workflow/sweeper.js'

const HOUR = 3600_000

t.test('walks a request from the engineer to the customer approval', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const created = await createRequest(h)
  t.equal(created.status, 'AwaitingManagerApproval')
  t.equal(created.decisionDeadline, new Date(START + 12 * HOUR).toISOString())
  t.same(created.requester, { id: 'eng-ada', name: 'Ada Engineer' })
  t.equal(created.accessLevel, 'read')
  t.notOk('version' in created, 'internal fields stay internal')
  t.same(created.history.map((e) => [e.action, e.actor.role]), [['Created', 'SupportEngineer']])

  h.advance(1000)
  const reviewed = await review(h, created.id)
  t.equal(reviewed.status, 'AwaitingCustomerApproval')
  t.equal(reviewed.decisionDeadline, new Date(START + 1000 + 12 * HOUR).toISOString(), 'the customer gets a fresh decision window')

  h.advance(1000)
  const approved = await decide(h, created.id)
  t.equal(approved.status, 'Approved')
  t.equal(approved.accessStartsAt, new Date(START + 2000).toISOString())
  t.equal(approved.accessEndsAt, new Date(START + 2000 + 2 * HOUR).toISOString())
  t.same(approved.history.map((e) => [e.action, e.actor.id, e.actor.role]), [
    ['Created', 'eng-ada', 'SupportEngineer'],
    ['ManagerApproved', 'mgr-carol', 'SupportManager'],
    ['Approved', 'contoso-approver', 'CustomerLockboxApprover']
  ])

  const fetched = await h.as('contoso-admin', { method: 'GET', url: `/v1/requests/${created.id}` })
  t.equal(fetched.statusCode, 200)
  t.same(fetched.json(), approved)

  const records = await auditOf(h, `tenantId=contoso&requestId=${created.id}`)
  t.same(records.map((r) => [r.operation, r.actor.type]), [
    ['LockboxRequestCreated', 'SupportEngineer'],
    ['LockboxRequestManagerApproved', 'SupportManager'],
    ['LockboxRequestApproved', 'CustomerApprover']
  ])
  t.equal(records[2]?.details.accessEndsAt, approved.accessEndsAt)
  const verify = await h.as('sec-erin', { method: 'GET', url: '/v1/audit/verify?tenantId=contoso' })
  t.match(verify.json(), { tenantId: 'contoso', valid: true, records: 4, headSeq: 4, firstInvalidSeq: null })
})

t.test('takes the comment into history and audit', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h)
  const res = await h.as('mgr-carol', { method: 'POST', url: `/v1/requests/${req.id}/review`, payload: { decision: 'Reject', comment: 'Use the diagnostics tool first' } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().status, 'RejectedByManager')
  t.equal(res.json().history[1].comment, 'Use the diagnostics tool first')
  const [record] = await auditOf(h, `requestId=${req.id}&operation=LockboxRequestManagerRejected`)
  t.equal(record?.details.comment, 'Use the diagnostics tool first')
})

t.test('goes straight to Approved after the manager when the tenant has lockbox off', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h, { tenantId: 'northwind', scope: '/' })
  const reviewed = await review(h, req.id)
  t.equal(reviewed.status, 'Approved')
  t.equal(reviewed.accessEndsAt, new Date(START + 2 * HOUR).toISOString())
})

t.test('records a denial', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h)
  await review(h, req.id)
  const denied = await decide(h, req.id, 'Deny', 'contoso-admin')
  t.equal(denied.status, 'Denied')
  t.equal(denied.history[2]?.actor.role, 'GlobalAdministrator')
  const again = await h.as('contoso-admin', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve' } })
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'INVALID_STATE')
  t.equal(again.headers['content-type'], 'application/problem+json; charset=utf-8')
})

t.test('expires an undecided request at its deadline, before and after the sweep', async (t) => {
  const h = await startTestApp({ config: { pendingTtlMs: HOUR } })
  t.teardown(h.close)
  const atManager = await createRequest(h)
  const atCustomer = await createRequest(h)
  await review(h, atCustomer.id)
  h.advance(HOUR)

  for (const req of [atManager, atCustomer]) {
    const read = await h.as('sec-erin', { method: 'GET', url: `/v1/requests/${req.id}` })
    t.equal(read.json().status, 'Expired', 'reads as Expired before any sweep')
    t.equal(read.json().history.at(-1).action, 'Expired')
    t.equal(read.json().history.at(-1).actor.role, 'System')
  }
  const late = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${atCustomer.id}/decision`, payload: { decision: 'Approve' } })
  t.equal(late.statusCode, 409, 'cannot be approved after the deadline')
  const lateReview = await h.as('mgr-carol', { method: 'POST', url: `/v1/requests/${atManager.id}/review`, payload: { decision: 'Approve' } })
  t.equal(lateReview.statusCode, 409)

  t.equal(await sweepOnce(h.app.workflow), 2)
  t.equal(await sweepOnce(h.app.workflow), 0, 'a second sweep writes nothing')
  const records = await auditOf(h, 'operation=LockboxRequestExpired')
  t.same(records.map((r) => [r.requestId, r.actor.type]).sort(), [[atManager.id, 'System'], [atCustomer.id, 'System']].sort())
  const listed = await h.as('sec-erin', { method: 'GET', url: '/v1/requests?status=Expired' })
  t.equal(listed.json().items.length, 2)
})

t.test('completes access when the window ends', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h, { duration: 'PT30M' })
  h.advance(30 * 60_000 - 1)
  t.equal((await h.as('eng-ada', { method: 'GET', url: `/v1/requests/${req.id}` })).json().status, 'Approved')
  h.advance(1)
  t.equal((await h.as('eng-ada', { method: 'GET', url: `/v1/requests/${req.id}` })).json().status, 'Completed')
  const revoke = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/revoke` })
  t.equal(revoke.statusCode, 409)
  t.equal(await sweepOnce(h.app.workflow), 1)
  const [record] = await auditOf(h, `requestId=${req.id}&operation=LockboxAccessCompleted`)
  t.equal(record?.details.reason, 'AccessWindowEnded')
})

t.test('revokes active access', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  h.advance(60_000)
  const res = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/revoke`, payload: { comment: 'Done here' } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().status, 'Revoked')
  t.equal(res.json().accessEndsAt, new Date(START + 60_000).toISOString())
  t.equal((await auditOf(h, `requestId=${req.id}&operation=LockboxAccessRevoked`)).length, 1)
  const twice = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/revoke` })
  t.equal(twice.statusCode, 409)
})

t.test('cancels from every non-final status', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const atManager = await createRequest(h)
  const atCustomer = await createRequest(h)
  await review(h, atCustomer.id)
  const active = await approvedRequest(h)
  const cancel = async (id: string): Promise<{ statusCode: number, json: () => any }> =>
    await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${id}/cancel`, payload: {} })
  t.equal((await cancel(atManager.id)).json().status, 'Canceled')
  t.equal((await cancel(atCustomer.id)).json().status, 'Canceled')
  const ended = (await cancel(active.id)).json()
  t.equal(ended.status, 'Completed', 'canceling active access completes it')
  t.equal(ended.accessEndsAt, new Date(START).toISOString())
  t.equal((await cancel(atManager.id)).statusCode, 409)
  const ops = (await auditOf(h, 'operation=LockboxRequestCanceled,LockboxAccessCompleted')).map((r) => [r.requestId, r.operation, r.details.reason])
  t.same(ops, [
    [atManager.id, 'LockboxRequestCanceled', 'CanceledByRequester'],
    [atCustomer.id, 'LockboxRequestCanceled', 'CanceledByRequester'],
    [active.id, 'LockboxAccessCompleted', 'CanceledByRequester']
  ])
})

t.test('closing a service request cancels undecided requests and ends active access', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const sr = await openServiceRequest(h)
  const pending = await createRequest(h, { serviceRequestNumber: sr })
  const active = await approvedRequest(h, { serviceRequestNumber: sr })
  const denied = await createRequest(h, { serviceRequestNumber: sr })
  await review(h, denied.id, 'Reject')
  const other = await createRequest(h)

  const res = await h.as('contoso-user', { method: 'POST', url: `/v1/tenants/contoso/service-requests/${sr}/close` })
  t.equal(res.statusCode, 200)
  t.equal(res.json().status, 'Closed')
  t.equal(res.json().closedAt, new Date(START).toISOString())
  const status = async (id: string): Promise<string> => (await h.as('sec-erin', { method: 'GET', url: `/v1/requests/${id}` })).json().status
  t.equal(await status(pending.id), 'Canceled')
  t.equal(await status(active.id), 'Completed')
  t.equal(await status(denied.id), 'RejectedByManager')
  t.equal(await status(other.id), 'AwaitingManagerApproval')
  const [closeRecord] = await auditOf(h, 'operation=ServiceRequestClosed')
  t.equal(closeRecord?.details.endedRequests, 2)
  t.equal(closeRecord?.actor.type, 'CustomerUser')

  const again = await h.as('contoso-user', { method: 'POST', url: `/v1/tenants/contoso/service-requests/${sr}/close` })
  t.equal(again.statusCode, 409)
  const onClosed = await h.as('eng-ada', {
    method: 'POST',
    url: '/v1/requests',
    payload: { tenantId: 'contoso', serviceRequestNumber: sr, workload: 'exchange', duration: 'PT1H', justification: 'x' }
  })
  t.equal(onClosed.statusCode, 422)
  t.equal(onClosed.json().code, 'SERVICE_REQUEST_INVALID')
})

t.test('provider staff close service requests too', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const sr = await openServiceRequest(h)
  const req = await createRequest(h, { serviceRequestNumber: sr })
  const byManager = await h.as('mgr-carol', { method: 'POST', url: `/v1/tenants/contoso/service-requests/${sr}/close` })
  t.equal(byManager.statusCode, 200)
  const [record] = await auditOf(h, `requestId=${req.id}&operation=LockboxRequestCanceled`)
  t.equal(record?.actor.type, 'SupportManager')
  const sr2 = await openServiceRequest(h)
  const byEngineer = await h.as('eng-bob', { method: 'POST', url: `/v1/tenants/contoso/service-requests/${sr2}/close` })
  t.equal(byEngineer.statusCode, 200)
  const byStranger = await h.as('fabrikam-user', { method: 'POST', url: `/v1/tenants/contoso/service-requests/${sr2}/close` })
  t.equal(byStranger.statusCode, 404)
  const unknown = await h.as('contoso-user', { method: 'POST', url: '/v1/tenants/contoso/service-requests/999999/close' })
  t.equal(unknown.statusCode, 404)
})

t.test('refuses who may not act', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h)
  const post = async (user: string, action: string, payload: object = {}): Promise<{ statusCode: number, json: () => any }> =>
    await h.as(user, { method: 'POST', url: `/v1/requests/${req.id}/${action}`, payload })

  let res = await post('eng-ada', 'review', { decision: 'Approve' })
  t.equal(res.statusCode, 403, 'an engineer does not review')
  t.equal(res.json().code, 'FORBIDDEN')
  res = await post('contoso-approver', 'review', { decision: 'Approve' })
  t.equal(res.statusCode, 403, 'a customer approver sees the request but does not review it')
  res = await post('fabrikam-admin', 'review', { decision: 'Approve' })
  t.equal(res.statusCode, 404, 'another tenant does not even see it')
  res = await post('eng-bob', 'cancel')
  t.equal(res.statusCode, 404, 'another engineer does not see it')
  res = await post('mgr-carol', 'cancel')
  t.equal(res.statusCode, 403, 'a manager sees it but only the requester cancels')
  res = await post('contoso-user', 'decision', { decision: 'Approve' })
  t.equal(res.statusCode, 404, 'a plain customer user does not see lockbox requests')
  res = await post('rogue-contoso-engineer', 'review', { decision: 'Approve' })
  t.equal(res.statusCode, 404, 'provider roles claimed by a customer do not count')

  await review(h, req.id)
  res = await post('mgr-carol', 'decision', { decision: 'Approve' })
  t.equal(res.statusCode, 403, 'a manager does not decide for the customer')
  res = await post('fabrikam-approver', 'decision', { decision: 'Approve' })
  t.equal(res.statusCode, 404)
  res = await post('eng-ada', 'decision', { decision: 'Approve' })
  t.equal(res.statusCode, 403)
  res = await post('mgr-carol', 'revoke')
  t.equal(res.statusCode, 403)

  const rogue = await h.as('rogue-contoso-engineer', {
    method: 'POST',
    url: '/v1/requests',
    payload: { tenantId: 'contoso', serviceRequestNumber: '100001', workload: 'exchange', duration: 'PT1H', justification: 'x' }
  })
  t.equal(rogue.statusCode, 403)
  const manager = await h.as('mgr-carol', {
    method: 'POST',
    url: '/v1/requests',
    payload: { tenantId: 'contoso', serviceRequestNumber: '100001', workload: 'exchange', duration: 'PT1H', justification: 'x' }
  })
  t.equal(manager.statusCode, 403, 'only engineers create requests')
})

t.test('keeps a manager from reviewing their own request', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h, {}, 'mgr-eng-dan')
  const res = await h.as('mgr-eng-dan', { method: 'POST', url: `/v1/requests/${req.id}/review`, payload: { decision: 'Approve' } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'SEPARATION_OF_DUTIES')
  t.equal((await review(h, req.id)).status, 'AwaitingCustomerApproval', 'another manager may')
})

t.test('rejects bad input with 400 and a bad service request with 422', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const sr = await openServiceRequest(h)
  const base = { tenantId: 'contoso', serviceRequestNumber: sr, workload: 'exchange', duration: 'PT1H', justification: 'Mailbox rule loop' }
  const create = async (payload: object): Promise<{ statusCode: number, json: () => any }> =>
    await h.as('eng-ada', { method: 'POST', url: '/v1/requests', payload })

  for (const [payload, why] of [
    [{ ...base, extra: 1 }, 'an unknown field'],
    [{ ...base, duration: 'PT4H1S' }, 'a window beyond PT4H'],
    [{ ...base, duration: 'P1D' }, 'a duration with days'],
    [{ ...base, duration: 'PT0S' }, 'a zero duration'],
    [{ ...base, duration: 'two hours' }, 'a malformed duration'],
    [{ ...base, workload: 'teams' }, 'an unknown workload'],
    [{ ...base, accessLevel: 'admin' }, 'an unknown access level'],
    [{ ...base, scope: '/mailboxes/../x' }, 'a scope with a dot segment'],
    [{ ...base, scope: 'mailboxes' }, 'a relative scope'],
    [{ ...base, justification: '' }, 'an empty justification'],
    [{ ...base, tenantId: 'Contoso!' }, 'a malformed tenant id'],
    [{ ...base, duration: 4 }, 'a number where a string belongs']
  ] as Array<[object, string]>) {
    const res = await create(payload)
    t.equal(res.statusCode, 400, why)
    t.equal(res.json().code, 'VALIDATION_FAILED', why)
  }
  for (const [payload, why] of [
    [{ ...base, serviceRequestNumber: '999999' }, 'a service request that does not exist'],
    [{ ...base, tenantId: 'fabrikam' }, 'a service request of another tenant'],
    [{ ...base, tenantId: 'nowhere' }, 'a tenant that does not exist']
  ] as Array<[object, string]>) {
    const res = await create(payload)
    t.equal(res.statusCode, 422, why)
    t.equal(res.json().code, 'SERVICE_REQUEST_INVALID', why)
  }
  const limited = await startTestApp({ config: { maxAccessMs: HOUR } })
  t.teardown(limited.close)
  const sr2 = await openServiceRequest(limited)
  const tooLong = await limited.as('eng-ada', { method: 'POST', url: '/v1/requests', payload: { ...base, serviceRequestNumber: sr2, duration: 'PT1H1M' } })
  t.equal(tooLong.statusCode, 400, 'LOCKBOX_MAX_ACCESS below PT4H is enforced')

  const req = await createRequest(h)
  const bad = await h.as('mgr-carol', { method: 'POST', url: `/v1/requests/${req.id}/review`, payload: { decision: 'Maybe' } })
  t.equal(bad.statusCode, 400)
  const notJson = await h.as('mgr-carol', { method: 'POST', url: `/v1/requests/${req.id}/review`, payload: '{', headers: { 'content-type': 'application/json' } })
  t.equal(notJson.statusCode, 400)
  t.equal(notJson.json().code, 'VALIDATION_FAILED')
  const missing = await h.as('sec-erin', { method: 'GET', url: '/v1/requests/does-not-exist' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'NOT_FOUND')
})

t.test('gives exactly one winner and one record to 40 racing decisions', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h)
  await review(h, req.id)
  const token = await h.token('contoso-approver')
  const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => await h.app.inject({
    method: 'POST',
    url: `/v1/requests/${req.id}/decision`,
    headers: { authorization: `Bearer ${token}` },
    payload: { decision: i % 2 === 0 ? 'Approve' : 'Deny' }
  })))
  const codes = results.map((r) => r.statusCode).sort()
  t.same(codes, [200, ...Array(39).fill(409)])
  const decided = await auditOf(h, `requestId=${req.id}&operation=LockboxRequestApproved,LockboxRequestDenied`)
  t.equal(decided.length, 1)
  const final = (await h.as('sec-erin', { method: 'GET', url: `/v1/requests/${req.id}` })).json()
  t.equal(final.history.length, 3)
  t.equal((await h.as('sec-erin', { method: 'GET', url: '/v1/audit/verify?tenantId=contoso' })).json().valid, true)
})

t.test('lists what each caller may see, newest first, in pages', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const ada = []
  for (let i = 0; i < 5; i++) {
    ada.push(await createRequest(h))
    h.advance(1000)
  }
  const bob = await createRequest(h, {}, 'eng-bob')
  const fab = await createRequest(h, { tenantId: 'fabrikam', scope: '/' }, 'eng-bob')
  await review(h, ada[0]?.id as string)

  const list = async (user: string, query = ''): Promise<{ statusCode: number, json: () => any }> => await h.as(user, { method: 'GET', url: `/v1/requests${query}` })
  const ids = (res: { json: () => any }): string[] => res.json().items.map((r: { id: string }) => r.id)

  t.same(ids(await list('eng-ada')), ada.map((r) => r.id).reverse(), 'an engineer sees their own, newest first')
  t.same(ids(await list('eng-bob')), [fab.id, bob.id])
  t.equal((await list('mgr-carol')).json().items.length, 7, 'a manager sees all')
  t.equal((await list('sec-erin')).json().items.length, 7, 'a security reader sees all')
  t.same(ids(await list('fabrikam-approver')), [fab.id], 'a customer approver sees their tenant only')
  t.equal((await list('contoso-admin')).json().items.length, 6)
  t.equal((await list('contoso-user')).statusCode, 403, 'a plain user sees no lockbox requests')
  t.equal((await list('contoso-approver', '?tenantId=fabrikam')).statusCode, 403)
  t.same(ids(await list('sec-erin', '?tenantId=fabrikam')), [fab.id])
  t.same(ids(await list('mgr-carol', '?status=AwaitingCustomerApproval')), [ada[0]?.id])
  t.equal((await list('mgr-carol', '?status=Pending')).statusCode, 400)

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const res = await list('mgr-carol', `?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`)
    t.ok(res.json().items.length <= 3)
    seen.push(...ids(res))
    cursor = res.json().nextCursor
  } while (cursor !== null)
  t.equal(seen.length, 7)
  t.equal(new Set(seen).size, 7, 'no repeats across pages')
  t.equal((await list('mgr-carol', '?cursor=not-a-cursor')).statusCode, 400)
})
