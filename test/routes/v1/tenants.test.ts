import t from 'tap'
import { START, startTestApp } from '../../helpers/app.js'
import { auditOf, createRequest, openServiceRequest, review } from '../../helpers/workflow.js'

t.test('shows a tenant to its users and to provider staff only', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const get = async (user: string, tenant = 'contoso'): Promise<{ statusCode: number, json: () => any }> =>
    await h.as(user, { method: 'GET', url: `/v1/tenants/${tenant}` })
  const res = await get('contoso-user')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { id: 'contoso', displayName: 'Contoso Ltd.', lockboxEnabled: true, approverEmails: ['lockbox-approvers@contoso.com', 'megan@contoso.com'], approvalsRequired: 1, requireSignedApprovals: false })
  t.equal((await get('eng-ada')).statusCode, 200)
  t.equal((await get('sec-erin')).statusCode, 200)
  t.equal((await get('fabrikam-admin')).statusCode, 403)
  t.equal((await get('contoso-user', 'nowhere')).statusCode, 404)
})

t.test('lets a global administrator change the settings, persisted and audited', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const patch = async (user: string, payload: unknown): Promise<{ statusCode: number, json: () => any }> =>
    await h.as(user, { method: 'PATCH', url: '/v1/tenants/contoso', payload: payload as object })

  const res = await patch('contoso-admin', { lockboxEnabled: false, approverEmails: ['secops@contoso.com'], requireSignedApprovals: false })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { id: 'contoso', displayName: 'Contoso Ltd.', lockboxEnabled: false, approverEmails: ['secops@contoso.com'], approvalsRequired: 1, requireSignedApprovals: false })
  t.same((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso' })).json().lockboxEnabled, false)

  const [record] = await auditOf(h, 'tenantId=contoso&operation=TenantSettingsUpdated')
  t.same(record?.details.changes, {
    lockboxEnabled: { from: true, to: false },
    approverEmails: { from: ['lockbox-approvers@contoso.com', 'megan@contoso.com'], to: ['secops@contoso.com'] }
  })
  t.same(record?.actor, { id: 'contoso-admin', type: 'CustomerApprover' })

  const req = await createRequest(h)
  t.equal((await review(h, req.id)).status, 'Approved', 'lockbox off: the manager\'s approval is enough')

  const back = await patch('contoso-admin', { lockboxEnabled: true })
  t.same(back.json().approverEmails, ['secops@contoso.com'], 'fields not sent keep their value')
  const emailsOnly = await patch('contoso-admin', { approverEmails: ['a@contoso.com', 'b@contoso.com'] })
  t.same([emailsOnly.json().lockboxEnabled, emailsOnly.json().approverEmails], [true, ['a@contoso.com', 'b@contoso.com']])

  t.equal((await patch('contoso-approver', { lockboxEnabled: false })).statusCode, 403)
  t.equal((await patch('fabrikam-admin', { lockboxEnabled: false })).statusCode, 403)
  t.equal((await patch('sec-erin', { lockboxEnabled: false })).statusCode, 403)
  t.equal((await patch('contoso-admin', { lockboxEnabled: 'false' })).statusCode, 400, 'no coercion of body types')
  t.equal((await patch('contoso-admin', { displayName: 'x' })).statusCode, 400, 'unknown fields are refused')
  t.equal((await patch('contoso-admin', {})).statusCode, 400, 'an empty patch is refused')
  t.equal((await patch('contoso-admin', { approverEmails: ['not-an-address'] })).statusCode, 400)
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/nowhere', payload: { lockboxEnabled: true } })).statusCode, 404)
})

t.test('opens, lists and reads service requests', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const open = await h.as('contoso-user', { method: 'POST', url: '/v1/tenants/contoso/service-requests', payload: { title: 'Cannot send mail' } })
  t.equal(open.statusCode, 201)
  t.same(open.json(), {
    number: '100001',
    tenantId: 'contoso',
    title: 'Cannot send mail',
    description: null,
    status: 'Open',
    createdBy: { id: 'contoso-user', name: 'Alex Wilber' },
    createdAt: new Date(START).toISOString(),
    closedAt: null
  })
  const second = await openServiceRequest(h)
  t.equal(second, '100002')
  const fab = await openServiceRequest(h, 'fabrikam')
  t.equal(fab, '100001', 'numbers count per tenant')

  const list = await h.as('contoso-admin', { method: 'GET', url: '/v1/tenants/contoso/service-requests?limit=1' })
  t.same(list.json().items.map((s: { number: string }) => s.number), ['100002'])
  const rest = await h.as('contoso-admin', { method: 'GET', url: `/v1/tenants/contoso/service-requests?limit=1&cursor=${list.json().nextCursor}` })
  t.same(rest.json().items.map((s: { number: string }) => s.number), ['100001'])
  t.equal(rest.json().nextCursor, null)

  t.equal((await h.as('eng-ada', { method: 'GET', url: '/v1/tenants/contoso/service-requests' })).statusCode, 200, 'provider staff read them')
  t.equal((await h.as('fabrikam-user', { method: 'GET', url: '/v1/tenants/contoso/service-requests' })).statusCode, 403)
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso/service-requests/100001' })).json().title, 'Cannot send mail')
  t.equal((await h.as('fabrikam-user', { method: 'GET', url: '/v1/tenants/contoso/service-requests/100001' })).statusCode, 404)
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso/service-requests/424242' })).statusCode, 404)
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso/service-requests/abc' })).statusCode, 400)

  const byEngineer = await h.as('eng-ada', { method: 'POST', url: '/v1/tenants/contoso/service-requests', payload: { title: 'x' } })
  t.equal(byEngineer.statusCode, 403, 'service requests are opened by the tenant\'s users')
  const byOther = await h.as('fabrikam-user', { method: 'POST', url: '/v1/tenants/contoso/service-requests', payload: { title: 'x' } })
  t.equal(byOther.statusCode, 403)
  const untitled = await h.as('contoso-user', { method: 'POST', url: '/v1/tenants/contoso/service-requests', payload: { title: '' } })
  t.equal(untitled.statusCode, 400)
  const nowhere = await h.as('contoso-user', { method: 'POST', url: '/v1/tenants/nowhere/service-requests', payload: { title: 'x' } })
  t.equal(nowhere.statusCode, 404)
  const [record] = await auditOf(h, 'tenantId=contoso&operation=ServiceRequestOpened')
  t.same([record?.object, record?.actor], ['100001', { id: 'contoso-user', type: 'CustomerUser' }])
})
