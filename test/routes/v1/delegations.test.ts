// Delegation of approving (issue 18): out of office, an approver hands their approving to someone of
// the tenant for a window; decisions name whom they were taken for; no chains, no self-delegation.
import t from 'tap'
import { START, startTestApp, type TestApp } from '../../helpers/app.js'
import { auditOf, createRequest, review } from '../../helpers/workflow.js'

const DAY = 24 * 3600_000

async function delegate (h: TestApp, user: string, payload: Record<string, unknown>): Promise<{ statusCode: number, json: () => any }> {
  return await h.as(user, { method: 'POST', url: '/v1/tenants/contoso/delegations', payload })
}

async function decision (h: TestApp, id: string, user: string, payload: Record<string, unknown>): Promise<{ statusCode: number, json: () => any }> {
  return await h.as(user, { method: 'POST', url: `/v1/requests/${id}/decision`, payload })
}

const tomorrow = new Date(START + DAY).toISOString()

t.test('a delegate decides for the away approver: recorded with onBehalfOf, the delegator e-mailed', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const created = await delegate(h, 'contoso-approver', { to: 'contoso-user', until: tomorrow })
  t.equal(created.statusCode, 201)
  const delegation = created.json()
  t.match(delegation, { from: 'contoso-approver', to: 'contoso-user', until: tomorrow, createdBy: 'contoso-approver', status: 'Active', revokedAt: null })
  t.notOk('fromEmail' in delegation, 'the address stays internal')
  const [record] = await auditOf(h, 'tenantId=contoso&operation=ApprovalDelegated')
  t.match(record, { actor: { id: 'contoso-approver', type: 'CustomerApprover' }, object: delegation.id, details: { from: 'contoso-approver', to: 'contoso-user', until: tomorrow } })

  const listed = await h.as('contoso-admin', { method: 'GET', url: '/v1/tenants/contoso/delegations' })
  t.same(listed.json().items.map((d: { id: string }) => d.id), [delegation.id])
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso/delegations' })).json().items.length, 1, 'a delegate sees what they hold')
  t.equal((await h.as('fabrikam-admin', { method: 'GET', url: '/v1/tenants/contoso/delegations' })).statusCode, 403)
  t.equal((await h.as('eng-ada', { method: 'GET', url: '/v1/tenants/contoso/delegations' })).statusCode, 403)
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/nowhere/delegations' })).statusCode, 404)

  const req = await review(h, (await createRequest(h)).id)
  const visible = await h.as('contoso-user', { method: 'GET', url: '/v1/requests?tenantId=contoso' })
  t.equal(visible.statusCode, 200, 'a delegate sees the tenant\'s requests')
  t.ok(visible.json().items.some((r: { id: string }) => r.id === req.id))
  const approved = await decision(h, req.id, 'contoso-user', { decision: 'Approve', comment: 'for Lee' })
  t.equal(approved.statusCode, 200)
  t.equal(approved.json().status, 'Approved')
  t.match(approved.json().approvals, [{ by: 'contoso-user', onBehalfOf: 'contoso-approver', comment: 'for Lee' }])
  t.match(approved.json().history.at(-1), { action: 'Approved', actor: { id: 'contoso-user', role: 'CustomerLockboxApprover' }, onBehalfOf: 'contoso-approver' })
  const [approvedRecord] = await auditOf(h, `tenantId=contoso&requestId=${req.id}&operation=LockboxRequestApproved`)
  t.match(approvedRecord, { actor: { id: 'contoso-user', type: 'CustomerApprover' }, details: { onBehalfOf: 'contoso-approver' } })

  const notices = await h.app.stores.lockbox.listNotifications({ requestId: req.id, limit: 20 })
  const told = notices.filter((n) => n.kind === 'DelegateDecided')
  t.equal(told.length, 1)
  t.same(told[0]?.email?.to, ['lee@contoso.com'])
  t.match(told[0]?.email?.text, /contoso-user took a decision for you \(Approved\)/)

  const forOther = await delegate(h, 'contoso-admin', { from: 'contoso-approver', to: 'contoso-user', until: tomorrow })
  t.equal(forOther.statusCode, 201, 'a GlobalAdministrator delegates for someone else')
  t.match(forOther.json(), { from: 'contoso-approver', createdBy: 'contoso-admin' })
})

t.test('a quorum counts people, not delegations', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { approvalsRequired: 2 } })
  t.equal((await delegate(h, 'contoso-approver', { to: 'contoso-user', until: tomorrow })).statusCode, 201)
  h.advance(1000)
  t.equal((await delegate(h, 'contoso-admin', { to: 'contoso-user', until: tomorrow })).statusCode, 201)
  const req = await review(h, (await createRequest(h)).id)
  const first = await decision(h, req.id, 'contoso-user', { decision: 'Approve' })
  t.match(first.json().approvals, [{ by: 'contoso-user', onBehalfOf: 'contoso-approver' }], 'the oldest delegation held')
  const twice = await decision(h, req.id, 'contoso-user', { decision: 'Approve', onBehalfOf: 'contoso-admin' })
  t.equal(twice.statusCode, 409, 'one person holding two delegations is one')
  t.equal(twice.json().code, 'ALREADY_APPROVED')
  t.equal((await decision(h, req.id, 'contoso-approver', { decision: 'Approve' })).json().code, 'ALREADY_APPROVED', 'the delegator has counted through their delegate')
  t.equal((await decision(h, req.id, 'contoso-admin', { decision: 'Approve', onBehalfOf: 'contoso-approver' })).statusCode, 403, 'no delegation from them')
  const second = await decision(h, req.id, 'contoso-admin', { decision: 'Approve' })
  t.equal(second.json().status, 'Approved')
})

t.test('refuses self-delegation, chains, bad windows and delegating for someone else without GlobalAdministrator', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const self = await delegate(h, 'contoso-approver', { to: 'contoso-approver', until: tomorrow })
  t.equal(self.statusCode, 422)
  t.equal(self.json().code, 'DELEGATION_SELF')
  t.equal((await delegate(h, 'contoso-approver', { to: 'contoso-user', until: new Date(START - 1).toISOString() })).statusCode, 400)
  t.equal((await delegate(h, 'contoso-approver', { to: 'contoso-user', until: new Date(START + 91 * DAY).toISOString() })).statusCode, 400)
  t.equal((await delegate(h, 'contoso-approver', { to: 'contoso-user', until: 'tomorrow' })).statusCode, 400)
  t.equal((await delegate(h, 'contoso-approver', { to: 'contoso-user', from: 'contoso-admin', until: tomorrow })).statusCode, 403)
  t.equal((await delegate(h, 'contoso-user', { to: 'contoso-admin', until: tomorrow })).statusCode, 403, 'only approvers delegate')
  t.equal((await delegate(h, 'eng-ada', { to: 'contoso-user', until: tomorrow })).statusCode, 403)

  // The admin, away, hands their approving to the approver: the approver cannot pass it on.
  t.equal((await delegate(h, 'contoso-admin', { to: 'contoso-approver', until: tomorrow })).statusCode, 201)
  const chain = await delegate(h, 'contoso-approver', { to: 'contoso-user', until: tomorrow })
  t.equal(chain.statusCode, 422)
  t.equal(chain.json().code, 'DELEGATION_CHAIN')
  // Nor may a GlobalAdministrator pass it on for them.
  const onward = await delegate(h, 'contoso-admin', { from: 'contoso-approver', to: 'contoso-admin', until: tomorrow })
  t.equal(onward.json().code, 'DELEGATION_CHAIN')
})

t.test('refuses to hand approving to someone who has handed their own away', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  t.equal((await delegate(h, 'contoso-approver', { to: 'contoso-user', until: tomorrow })).statusCode, 201)
  const toAway = await delegate(h, 'contoso-admin', { to: 'contoso-approver', until: tomorrow })
  t.equal(toAway.statusCode, 422)
  t.match(toAway.json(), { code: 'DELEGATION_CHAIN', detail: 'contoso-approver has delegated their own approving away' })
})

t.test('a revoked or expired delegation gives nothing any more', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const before = await h.as('contoso-admin', { method: 'POST', url: '/v1/tenants/contoso/delegations/no-such-delegation/revoke' })
  t.equal(before.statusCode, 404, 'a tenant with no settings stored yet holds none')
  const d = (await delegate(h, 'contoso-approver', { to: 'contoso-user', until: tomorrow })).json()
  const other = (await delegate(h, 'contoso-admin', { to: 'contoso-user', until: tomorrow })).json()
  const req = await review(h, (await createRequest(h)).id)
  const revoke = async (user: string, id: string): Promise<{ statusCode: number, json: () => any }> =>
    await h.as(user, { method: 'POST', url: `/v1/tenants/contoso/delegations/${id}/revoke` })
  t.equal((await revoke('contoso-approver', other.id)).statusCode, 403, 'not a party to it, not a GlobalAdministrator')
  t.equal((await revoke('fabrikam-admin', d.id)).statusCode, 404)
  t.equal((await revoke('contoso-admin', 'no-such-delegation')).statusCode, 404)
  const revoked = await revoke('contoso-user', d.id)
  t.equal(revoked.statusCode, 200)
  t.match(revoked.json(), { status: 'Revoked', revokedBy: 'contoso-user' })
  t.match((await auditOf(h, 'tenantId=contoso&operation=ApprovalDelegationRevoked'))[0], { actor: { id: 'contoso-user' }, details: { delegationId: d.id } })
  t.equal((await revoke('contoso-admin', d.id)).statusCode, 404, 'gone from the list')
  t.equal((await decision(h, req.id, 'contoso-user', { decision: 'Approve', onBehalfOf: 'contoso-approver' })).statusCode, 403, 'the revoked delegation gives nothing')

  h.advance(DAY)
  t.equal((await decision(h, req.id, 'contoso-user', { decision: 'Approve' })).statusCode, 404, 'the expired one neither')
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/requests' })).statusCode, 403)
  t.equal((await revoke('contoso-admin', other.id)).statusCode, 409, 'it has already ended')
  t.same((await h.as('contoso-admin', { method: 'GET', url: '/v1/tenants/contoso/delegations' })).json().items.map((x: { status: string }) => x.status), ['Expired'])
  const kept = await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { approvalsRequired: 2 } })
  t.equal(kept.statusCode, 200)
})
