// `lockbox decide approve` on a tenant that requires passkey-signed approvals: the CLI has no
// platform authenticator to sign with, and says to approve in the admin center.
import t from 'tap'
import { registerPasskey } from '../../helpers/passkeys.js'
import { createRequest, review } from '../../helpers/workflow.js'
import { startCliHarness } from '../run.js'

t.test('sends an approver who must sign to the admin center', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await cli.lockbox(['-p', 'approver', 'login', '--dev', 'contoso-approver'])
  await registerPasskey(cli.h, 'contoso-approver')
  t.equal((await cli.h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true } })).statusCode, 200)
  const req = await createRequest(cli.h)
  await review(cli.h, req.id)
  const res = await cli.lockbox(['-p', 'approver', 'decide', 'approve', req.id])
  t.equal(res.code, 1)
  t.match(res.stderr, /\(SIGNED_APPROVAL_REQUIRED\)\nhint: this tenant requires passkey-signed approvals, and the CLI has no platform authenticator to sign with: approve in the admin center/)
  t.equal((await cli.h.as('contoso-approver', { method: 'GET', url: `/v1/requests/${req.id}` })).json().status, 'AwaitingCustomerApproval', 'nothing was approved')
})
