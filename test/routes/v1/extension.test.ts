// Extension without a gap (issue 18): more time asked for while the access continues, through the
// same stages; approved, the window grows; denied or expired, it is untouched; each step recorded.
import t from 'tap'
import { decodeJwt } from 'jose'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { accessTokenOf } from '../../helpers/content.js'
import { approvedRequest, auditOf, review, type RequestView } from '../../helpers/workflow.js'
import { sweepOnce } from '../../../src/workflow/sweeper.js'
import { unbackedRequests } from '../../../src/stores/state-check.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

async function extend (h: TestApp, id: string, payload: Record<string, unknown> = { duration: 'PT1H', justification: 'Still reproducing the loop' }, user = 'eng-ada'): Promise<{ statusCode: number, json: () => any }> {
  return await h.as(user, { method: 'POST', url: `/v1/requests/${id}/extend`, payload })
}

async function decision (h: TestApp, id: string, user: string, payload: Record<string, unknown>): Promise<{ statusCode: number, json: () => any }> {
  return await h.as(user, { method: 'POST', url: `/v1/requests/${id}/decision`, payload })
}

async function extensionRecords (h: TestApp, id: string): Promise<Array<Record<string, any>>> {
  return (await auditOf(h, `tenantId=contoso&requestId=${id}`)).filter((r) => String(r.operation).startsWith('LockboxExtension'))
}

t.test('an approved extension grows the window while the access goes on, every step recorded', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  const end = Date.parse(req.accessEndsAt as string)
  const oldToken = await accessTokenOf(h, req.id)

  h.advance(30 * MINUTE)
  const asked = await extend(h, req.id)
  t.equal(asked.statusCode, 200)
  t.equal(asked.json().status, 'Approved', 'the current access continues')
  t.match(asked.json().extension, { duration: 'PT1H', justification: 'Still reproducing the loop', status: 'AwaitingManagerApproval', approvals: [] })
  t.equal(asked.json().accessEndsAt, req.accessEndsAt)
  t.equal((await h.app.inject({ method: 'GET', url: '/exchange/contoso/mailboxes/alice@contoso.com/messages', headers: { authorization: `Bearer ${oldToken}` } })).statusCode, 200)
  t.equal((await extend(h, req.id)).statusCode, 409, 'one extension at a time')

  const reviewed = await review(h, req.id)
  t.equal(reviewed.status, 'Approved')
  t.match(reviewed.extension, { status: 'AwaitingCustomerApproval', approvalsRequired: 1 })
  t.equal((await decision(h, req.id, 'contoso-approver', { decision: 'Approve', scope: '/mailboxes/alice@contoso.com/x' })).statusCode, 400, 'only the duration of an extension narrows')
  t.equal((await decision(h, req.id, 'contoso-approver', { decision: 'Approve', duration: 'PT2H' })).json().code, 'GRANT_WIDENED')
  const unreadable = await decision(h, req.id, 'contoso-approver', { decision: 'Approve', duration: 'soon' })
  t.equal(unreadable.statusCode, 400)
  t.match(unreadable.json(), { code: 'VALIDATION_FAILED', detail: /duration "soon" is not a positive ISO 8601 duration/ })

  const approved = await decision(h, req.id, 'contoso-approver', { decision: 'Approve', duration: 'PT30M', comment: 'half an hour' })
  t.equal(approved.statusCode, 200)
  const view = approved.json() as RequestView
  t.equal(view.status, 'Approved')
  t.equal(view.accessEndsAt, new Date(end + 30 * MINUTE).toISOString(), 'the window grows by what was granted')
  t.match(view.extension, { status: 'Approved', grantedDuration: 'PT30M', previousAccessEndsAt: req.accessEndsAt, decisionDeadline: null })
  t.same((view.history).slice(-3).map((e) => e.action), ['ExtensionRequested', 'ExtensionManagerApproved', 'ExtensionApproved'])
  const token = await accessTokenOf(h, req.id)
  t.equal(decodeJwt(token).exp, Math.floor((end + 30 * MINUTE) / 1000), 'a fresh token covers the longer window')

  const records = await extensionRecords(h, req.id)
  t.same(records.map((r) => [r.operation, r.actor.id, r.details.status, r.details.extension.status]), [
    ['LockboxExtensionRequested', 'eng-ada', 'Approved', 'AwaitingManagerApproval'],
    ['LockboxExtensionManagerApproved', 'mgr-carol', 'Approved', 'AwaitingCustomerApproval'],
    ['LockboxExtensionApproved', 'contoso-approver', 'Approved', 'Approved']
  ])
  t.equal(records[2]?.details.accessEndsAt, view.accessEndsAt)
  t.same(await unbackedRequests(h.app.stores.lockbox, h.app.stores.audit, { now: h.now() }), [], 'the chain backs the grown window')
  t.match((await h.as('sec-erin', { method: 'GET', url: '/v1/audit/verify?tenantId=contoso' })).json(), { valid: true })

  h.advance(105 * MINUTE)
  t.equal((await h.as('eng-ada', { method: 'GET', url: `/v1/requests/${req.id}` })).json().status, 'Approved', 'past the old end, inside the new one')
})

t.test('denied or rejected, the window is untouched; a new extension may be asked for after', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  await extend(h, req.id)
  const rejected = await h.as('mgr-carol', { method: 'POST', url: `/v1/requests/${req.id}/review`, payload: { decision: 'Reject' } })
  t.match(rejected.json(), { status: 'Approved', accessEndsAt: req.accessEndsAt, extension: { status: 'RejectedByManager' } })
  t.equal((await extend(h, req.id, { duration: 'PT2H', justification: 'again' })).statusCode, 200)
  await review(h, req.id)
  const denied = await decision(h, req.id, 'contoso-admin', { decision: 'Deny', comment: 'enough' })
  t.match(denied.json(), { status: 'Approved', accessEndsAt: req.accessEndsAt, extension: { status: 'Denied', duration: 'PT2H' } })
  t.same((await extensionRecords(h, req.id)).map((r) => r.operation), [
    'LockboxExtensionRequested', 'LockboxExtensionManagerRejected', 'LockboxExtensionRequested', 'LockboxExtensionManagerApproved', 'LockboxExtensionDenied'
  ])
  t.equal((await decision(h, req.id, 'contoso-admin', { decision: 'Approve' })).statusCode, 409, 'nothing left to decide')
})

t.test('an extension needs the quorum too, and never grows the window past one approval\'s longest from now', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h, { duration: 'PT4H' })
  await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { approvalsRequired: 2 } })
  h.advance(HOUR)
  await extend(h, req.id, { duration: 'PT4H', justification: 'long migration' })
  await review(h, req.id)
  const first = await decision(h, req.id, 'contoso-approver', { decision: 'Approve' })
  t.match(first.json().extension, { status: 'AwaitingCustomerApproval', approvalsRequired: 2, approvals: [{ by: 'contoso-approver', duration: 'PT4H' }] })
  t.equal((await decision(h, req.id, 'contoso-approver', { decision: 'Approve' })).json().code, 'ALREADY_APPROVED')
  const second = await decision(h, req.id, 'contoso-admin', { decision: 'Approve' })
  t.equal(second.json().accessEndsAt, new Date(h.now() + 4 * HOUR).toISOString(), 'capped at now + LOCKBOX_MAX_ACCESS, not old end + 4 h')
  t.same((await extensionRecords(h, req.id)).map((r) => [r.operation, r.details.extension.approvals, r.details.extension.required]), [
    ['LockboxExtensionRequested', 0, null],
    ['LockboxExtensionManagerApproved', 0, 2],
    ['LockboxExtensionApprovalAdded', 1, 2],
    ['LockboxExtensionApproved', 2, 2]
  ])
})

t.test('an extension nobody decides expires: the sweeper writes it down and the window is untouched', async (t) => {
  const h = await startTestApp({ config: { pendingTtlMs: HOUR } })
  t.teardown(h.close)
  const req = await approvedRequest(h)
  await extend(h, req.id)
  h.advance(HOUR)
  const seen = await h.as('eng-ada', { method: 'GET', url: `/v1/requests/${req.id}` })
  t.match(seen.json(), { status: 'Approved', extension: { status: 'Expired' } }, 'expired by the clock before any sweep')
  t.equal((await h.as('mgr-carol', { method: 'POST', url: `/v1/requests/${req.id}/review`, payload: { decision: 'Approve' } })).statusCode, 409)
  t.equal(await sweepOnce(h.app.workflow), 1)
  t.equal(await sweepOnce(h.app.workflow), 0, 'written once')
  const records = await extensionRecords(h, req.id)
  t.match(records.at(-1), { operation: 'LockboxExtensionExpired', actor: { id: 'system', type: 'System' }, details: { reason: 'DecisionDeadlinePassed', accessEndsAt: req.accessEndsAt } })
  t.same(await unbackedRequests(h.app.stores.lockbox, h.app.stores.audit, { now: h.now() }), [])
})

t.test('a sweep that first runs after the window ended still writes the extension\'s expiry, then the end', async (t) => {
  const h = await startTestApp({ config: { pendingTtlMs: HOUR } })
  t.teardown(h.close)
  const req = await approvedRequest(h, { duration: 'PT1H' })
  h.advance(30 * MINUTE)
  await extend(h, req.id)
  h.advance(2 * HOUR)
  t.equal(await sweepOnce(h.app.workflow), 2, 'two records in one pass')
  t.equal(await sweepOnce(h.app.workflow), 0, 'written once')
  const records = await auditOf(h, `tenantId=contoso&requestId=${req.id}`)
  t.same(records.slice(-2).map((r) => r.operation), ['LockboxExtensionExpired', 'LockboxAccessCompleted'])
  t.match(records.at(-2), { details: { reason: 'DecisionDeadlinePassed', accessEndsAt: req.accessEndsAt } })
  t.match((await h.as('eng-ada', { method: 'GET', url: `/v1/requests/${req.id}` })).json(), { status: 'Completed', extension: { status: 'Expired' } })
  t.same(await unbackedRequests(h.app.stores.lockbox, h.app.stores.audit, { now: h.now() }), [])
})

t.test('refuses an extension by anyone but the requester, of a request not Approved, or too long', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  t.equal((await extend(h, req.id, undefined, 'eng-bob')).statusCode, 404)
  t.equal((await extend(h, req.id, undefined, 'mgr-carol')).statusCode, 403)
  t.equal((await extend(h, req.id, { duration: 'PT5H', justification: 'x' })).json().code, 'VALIDATION_FAILED')
  t.equal((await extend(h, req.id, { duration: 'soon', justification: 'x' })).json().code, 'VALIDATION_FAILED')
  t.equal((await extend(h, req.id, { duration: 'PT1H' })).statusCode, 400, 'a justification is required')
  await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/revoke`, payload: {} })
  t.equal((await extend(h, req.id)).statusCode, 409)
  const revokedView = await h.as('eng-ada', { method: 'GET', url: `/v1/requests/${req.id}` })
  t.equal(revokedView.json().extension, null)
})

t.test('an extension pending when the access is revoked is canceled with it', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await approvedRequest(h)
  await extend(h, req.id)
  await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/revoke`, payload: {} })
  const view = await h.as('eng-ada', { method: 'GET', url: `/v1/requests/${req.id}` })
  t.match(view.json(), { status: 'Revoked', extension: { status: 'Canceled' } })
})
