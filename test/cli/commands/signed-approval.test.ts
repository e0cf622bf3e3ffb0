// `lockbox decide approve` on a tenant that requires passkey-signed approvals: the CLI has no
// platform authenticator to sign with, and says to approve in the admin center.
import t from 'tap'
import { registerPasskey, signedDecision } from '../../helpers/passkeys.js'
import { iso, type LockboxRequest } from '../../../src/domain/lockbox.js'
import { createRequest, review } from '../../helpers/workflow.js'
import { startCliHarness } from '../run.js'

t.test('sends an approver who must sign to the admin center', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await cli.lockbox(['-p', 'approver', 'login', '--dev', 'contoso-approver'])
  const lee = await registerPasskey(cli.h, 'contoso-approver')
  t.equal((await cli.h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true } })).statusCode, 200)
  const req = await createRequest(cli.h)
  await review(cli.h, req.id)
  const res = await cli.lockbox(['-p', 'approver', 'decide', 'approve', req.id])
  t.equal(res.code, 1)
  t.match(res.stderr, /\(SIGNED_APPROVAL_REQUIRED\)\nhint: this tenant requires passkey-signed approvals \(of extensions too\), and the CLI has no platform authenticator to sign with: approve in the admin center/)
  t.equal((await cli.h.as('contoso-approver', { method: 'GET', url: `/v1/requests/${req.id}` })).json().status, 'AwaitingCustomerApproval', 'nothing was approved')

  // An extension of the window: signed too, so the CLI sends the approver to the admin center again.
  t.equal((await signedDecision(cli.h, req.id, lee)).statusCode, 200)
  t.equal((await cli.h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/extend`, payload: { duration: 'PT1H', justification: 'Still looping' } })).statusCode, 200)
  await review(cli.h, req.id)
  const extension = await cli.lockbox(['-p', 'approver', 'decide', 'approve', req.id])
  t.equal(extension.code, 1)
  t.match(extension.stderr, /\(SIGNED_APPROVAL_REQUIRED\)\nhint: this tenant requires passkey-signed approvals \(of extensions too\).*"Approve extension with passkey"/)
  t.equal((await cli.h.as('contoso-approver', { method: 'GET', url: `/v1/requests/${req.id}` })).json().extension.status, 'AwaitingCustomerApproval', 'the extension was not approved')
})

t.test('proves a tenant\'s approvals with `audit verify --approvals`, and names one nobody signed', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await cli.lockbox(['-p', 'approver', 'login', '--dev', 'contoso-approver'])
  const lee = await registerPasskey(cli.h, 'contoso-approver')
  t.equal((await cli.h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true } })).statusCode, 200)
  const signed = await createRequest(cli.h)
  await review(cli.h, signed.id)
  t.equal((await signedDecision(cli.h, signed.id, lee)).statusCode, 200)
  const ok = await cli.lockbox(['-p', 'approver', 'audit', 'verify', '--approvals'])
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, /approvals: 1, 1 proven by approver signatures, 0 unsigned \(not required then\); 0 of them extended a window/)

  // An insider's Approved, with the record and history to match: the chain alone finds nothing wrong.
  const forged = await createRequest(cli.h)
  await review(cli.h, forged.id)
  const stored = await cli.h.app.stores.lockbox.getRequest(forged.id) as LockboxRequest
  const now = cli.h.now()
  await cli.h.app.stores.lockbox.commit({
    tenantId: 'contoso',
    requests: [{ value: { ...stored, status: 'Approved', decisionDeadline: null, accessStartsAt: iso(now), accessEndsAt: iso(now + stored.durationMs), history: [...stored.history, { at: iso(now), action: 'Approved', actor: { id: 'contoso-approver', role: 'CustomerLockboxApprover' }, comment: null }] }, expectedVersion: stored.version }],
    audit: [{ tenantId: 'contoso', operation: 'LockboxRequestApproved', result: 'Success', actor: { id: 'contoso-approver', type: 'CustomerApprover' }, clientIp: null, requestId: forged.id, workload: 'exchange', object: stored.scope, details: { serviceRequestNumber: stored.serviceRequestNumber, accessLevel: stored.accessLevel, duration: stored.duration, requester: stored.requester.id, accessStartsAt: iso(now), accessEndsAt: iso(now + stored.durationMs), from: 'AwaitingCustomerApproval', status: 'Approved' } }]
  })
  const bad = await cli.lockbox(['-p', 'approver', 'audit', 'verify', '--approvals'])
  t.equal(bad.code, 1)
  t.match(bad.stdout, new RegExp(`request ${forged.id} approved at seq \\d+ without approver signatures`))
  t.match(bad.stderr, /not proven by its approvers' signatures/)
})

t.test('proves no approvals of a tenant whose log is empty, and says so', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await cli.lockbox(['-p', 'approver', 'login', '--dev', 'fabrikam-approver'])
  const res = await cli.lockbox(['-p', 'approver', 'audit', 'verify', '--approvals'])
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /^approvals: 0, 0 proven by approver signatures, 0 unsigned/m)
})
