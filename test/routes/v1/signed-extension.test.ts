// Deciding an extension where signed approvals are required (issue 19 on issue 18): each approver of
// the quorum signs the canonical extension they allow (perhaps for less time); the extension joins
// the request's signed approval, and each of its records carries the signatures so far.
import t from 'tap'
import { startTestApp } from '../../helpers/app.js'
import { registerPasskey, signedDecision } from '../../helpers/passkeys.js'
import { auditOf, createRequest, review } from '../../helpers/workflow.js'
import type { ApproverKeySet, SignedApproval } from '../../../src/domain/approval.js'
import { verifyExtensions, type SignedExtension } from '../../../src/domain/signed-extension.js'

t.test('a quorum signs an extension, each for the time they allow, and the shortest counts', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const lee = await registerPasskey(h, 'contoso-approver')
  const megan = await registerPasskey(h, 'contoso-admin')
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true, approvalsRequired: 2 } })).statusCode, 200)
  const req = await createRequest(h)
  await review(h, req.id)
  t.equal((await signedDecision(h, req.id, lee)).statusCode, 200)
  const approved = await signedDecision(h, req.id, megan, 'contoso-admin')
  t.equal(approved.json().status, 'Approved')
  const endsAt = Date.parse(approved.json().accessEndsAt)

  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/extend`, payload: { duration: 'PT1H', justification: 'Still looping' } })).statusCode, 200)
  await review(h, req.id)
  const options = async (user: string, body: Record<string, string> = {}): Promise<{ statusCode: number, json: () => any }> =>
    await h.as(user, { method: 'POST', url: `/v1/requests/${req.id}/approval-options`, payload: body })
  t.equal((await options('contoso-approver', { scope: '/' })).json().code, 'VALIDATION_FAILED', 'an extension narrows only its duration')
  t.equal((await options('contoso-approver', { duration: 'PT5H' })).json().code, 'GRANT_WIDENED')
  t.equal((await options('contoso-approver', { duration: 'soon' })).json().code, 'VALIDATION_FAILED')

  const first = (await options('contoso-approver')).json()
  const added = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve', webauthn: lee.assert(first.challenge) } })
  t.equal(added.json().extension.status, 'AwaitingCustomerApproval', 'one of two')
  t.equal((added.json().approval as SignedApproval).extensions, undefined, 'not part of the approval before the quorum')

  const second = (await options('contoso-admin', { duration: 'PT30M' })).json()
  t.equal(second.grant.duration, 'PT30M')
  const done = await h.as('contoso-admin', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve', duration: 'PT30M', webauthn: megan.assert(second.challenge) } })
  t.equal(done.statusCode, 200)
  t.equal(done.json().extension.grantedDuration, 'PT30M')
  t.equal(Date.parse(done.json().accessEndsAt), endsAt + 30 * 60_000)
  const approval = done.json().approval as SignedApproval
  const [extension] = approval.extensions as SignedExtension[]
  t.same([extension?.grant.duration, extension?.required, extension?.proofs.map((p) => [p.approver, p.grant?.duration])],
    ['PT30M', 2, [['contoso-approver', 'PT1H'], ['contoso-admin', 'PT30M']]], 'a wider signature covers the shorter extension granted')
  const keys = (await h.app.inject({ url: '/v1/tenants/contoso/approver-keys' })).json() as ApproverKeySet
  t.same(verifyExtensions(approval, keys, (e) => e.required), { ok: true }, 'verifies offline against the published keys')

  const records = await auditOf(h, `requestId=${req.id}&operation=LockboxExtensionApprovalAdded,LockboxExtensionApproved`)
  t.same(records.map((r) => [r.operation, (r.details.approval as SignedExtension).proofs.length]).sort(),
    [['LockboxExtensionApprovalAdded', 1], ['LockboxExtensionApproved', 2]], 'each record carries the signatures so far')
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })).statusCode, 201)
})
