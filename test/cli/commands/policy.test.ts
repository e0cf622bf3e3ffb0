// `lockbox decide approve --duration/--scope/--read-only/--on-behalf-of`, `request extend` and
// `delegate create|list|revoke`: the approval policy of issue 18 from the command line.
import t from 'tap'
import type { LockboxRequest } from '../../../src/domain/lockbox.js'
import { openServiceRequest, review } from '../../helpers/workflow.js'
import { startCliHarness } from '../run.js'

t.test('narrows, counts a quorum, delegates and extends from the command line', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await Promise.all([
    cli.lockbox(['login', '--dev', 'eng-ada']),
    cli.lockbox(['-p', 'manager', 'login', '--dev', 'mgr-carol']),
    cli.lockbox(['-p', 'approver', 'login', '--dev', 'contoso-approver']),
    cli.lockbox(['-p', 'admin', 'login', '--dev', 'contoso-admin']),
    cli.lockbox(['-p', 'user', 'login', '--dev', 'contoso-user'])
  ])
  t.equal((await cli.h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { approvalsRequired: 2 } })).statusCode, 200)
  const sr = await openServiceRequest(cli.h)
  const id = (await cli.lockbox(['request', 'create', '-t', 'contoso', '--sr', sr, '-w', 'exchange', '-d', '2h', '--scope', '/mailboxes', '--access', 'readwrite', '-r', 'x', '-q'])).stdout.trim()
  await cli.lockbox(['-p', 'manager', 'review', 'approve', id])
  const none = await cli.lockbox(['request', 'show', id])
  t.match(none.stdout, /^approvals +0 of 2$/m, 'none given yet')
  t.match(none.stderr, 'next: 2 more of contoso\'s lockbox approvers decide')

  const first = await cli.lockbox(['-p', 'approver', 'decide', 'approve', id, '-d', '1h', '--scope', '/mailboxes/alice@contoso.com', '--read-only'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, `Approved: request ${id} is now AwaitingCustomerApproval`)
  t.match(first.stderr, 'next: contoso\'s lockbox approver decides')
  const widened = await cli.lockbox(['-p', 'admin', 'decide', 'approve', id, '-d', '3h'])
  t.equal(widened.code, 1)
  t.match(widened.stderr, '(GRANT_WIDENED)')
  t.match((await cli.lockbox(['request', 'show', id])).stdout, /approvals +1 of 2 \(contoso-approver\)/)

  const until = new Date(Date.now() + 24 * 3600_000).toISOString()
  const created = await cli.lockbox(['-p', 'admin', 'delegate', 'create', '--to', 'contoso-user', '--until', until])
  t.equal(created.code, 0, created.stderr)
  const delegationId = /\(delegation (\S+)\)/.exec(created.stdout)?.[1] as string
  t.match(created.stdout, `Delegated contoso-admin's approving to contoso-user until ${until}`)
  t.match((await cli.lockbox(['-p', 'admin', 'delegate', 'list'])).stdout, new RegExp(`${delegationId} +contoso-admin +contoso-user`))

  const second = await cli.lockbox(['-p', 'user', 'decide', 'approve', id, '--on-behalf-of', 'contoso-admin', '-m', 'for Megan'])
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, 'is now Approved')
  const shown = (await cli.lockbox(['request', 'show', id])).stdout
  t.match(shown, /approvals +2 of 2 \(contoso-approver, contoso-user for contoso-admin\)/)
  t.match(shown, /granted +read on exchange \/mailboxes\/alice@contoso.com for PT1H \(narrowed by the approvers\)/)

  const extend = await cli.lockbox(['request', 'extend', id, '-d', '30m', '-r', 'one more mailbox rule'])
  t.equal(extend.code, 0, extend.stderr)
  t.match(extend.stdout, `Extension asked for: request ${id} is now Approved`)
  t.match(extend.stderr, 'next: a support manager reviews the extension')
  t.match((await cli.lockbox(['request', 'show', id])).stdout, /^extension +PT30M more: AwaitingManagerApproval$/m, 'no quorum before the customer stage')
  t.match((await cli.lockbox(['-p', 'manager', 'review', 'approve', id])).stderr, 'next: contoso\'s lockbox approvers decide the extension')
  await cli.lockbox(['-p', 'approver', 'decide', 'approve', id])
  const denied = await cli.lockbox(['-p', 'admin', 'decide', 'deny', id, '-m', 'enough'])
  t.equal(denied.code, 0, denied.stderr)
  t.match((await cli.lockbox(['request', 'show', id])).stdout, /extension +PT30M more: Denied, 1 of 2 approvals/)
  await cli.lockbox(['request', 'extend', id, '-d', '15m', '-r', 'the rule came back'])
  await cli.lockbox(['-p', 'manager', 'review', 'approve', id])
  await cli.lockbox(['-p', 'approver', 'decide', 'approve', id])
  t.equal((await cli.lockbox(['-p', 'admin', 'decide', 'approve', id])).code, 0)
  t.match((await cli.lockbox(['request', 'show', id])).stdout, /^extension +PT15M more: Approved, 2 of 2 approvals, granted PT15M$/m)

  const revoked = await cli.lockbox(['-p', 'user', 'delegate', 'revoke', delegationId, '-t', 'contoso'])
  t.equal(revoked.code, 0, revoked.stderr)
  t.match(revoked.stdout, `Revoked delegation ${delegationId} (contoso-admin → contoso-user).`)
  t.equal((await cli.lockbox(['-p', 'admin', 'delegate', 'list'])).stdout, 'No delegations.\n')
  t.match(JSON.parse((await cli.lockbox(['-p', 'admin', '--json', 'delegate', 'list'])).stdout), { items: [] })
})

t.test('shows a request stored before quorums as awaiting its one approver', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await cli.lockbox(['login', '--dev', 'eng-ada'])
  const sr = await openServiceRequest(cli.h)
  const id = (await cli.lockbox(['request', 'create', '-t', 'contoso', '--sr', sr, '-w', 'exchange', '-d', '2h', '--scope', '/mailboxes', '-r', 'x', '-q'])).stdout.trim()
  await review(cli.h, id)
  // As a gateway before quorums stored it: neither approvals nor a quorum.
  const { approvals: _approvals, approvalsRequired: _required, ...stored } = await cli.h.app.stores.lockbox.getRequest(id) as LockboxRequest
  await cli.h.app.stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: stored, expectedVersion: stored.version }], audit: [] })
  const shown = await cli.lockbox(['request', 'show', id])
  t.equal(shown.code, 0, shown.stderr)
  t.notMatch(shown.stdout, /^approvals/m)
  t.match(shown.stderr, `next: contoso's lockbox approver decides: lockbox decide approve ${id}`)
})
