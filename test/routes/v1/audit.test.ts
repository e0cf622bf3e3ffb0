import t from 'tap'
import { START, startTestApp } from '../../helpers/app.js'
import { approvedRequest, auditOf, createRequest, openServiceRequest } from '../../helpers/workflow.js'

t.test('searches the audit log with every filter, oldest first', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const first = await createRequest(h)
  h.advance(60_000)
  const second = await approvedRequest(h)
  h.advance(60_000)
  await createRequest(h, { tenantId: 'fabrikam', scope: '/' })

  const contoso = await auditOf(h, 'tenantId=contoso')
  t.same(contoso.map((r) => r.seq), contoso.map((_, i) => i + 1), 'seq counts from 1 per tenant')
  t.equal(contoso[0]?.prevHash, '0'.repeat(64))
  t.ok(contoso.every((r, i) => i === 0 || r.prevHash === contoso[i - 1]?.hash), 'each record chains to the one before')

  t.same((await auditOf(h, `requestId=${first.id}`)).map((r) => r.operation), ['LockboxRequestCreated'])
  t.same((await auditOf(h, 'operation=LockboxRequestApproved')).map((r) => r.requestId), [second.id])
  t.same((await auditOf(h, 'actorId=contoso-approver')).map((r) => r.operation), ['LockboxRequestApproved'])
  const from = new Date(START + 60_000).toISOString()
  const to = new Date(START + 120_000).toISOString()
  const window = await auditOf(h, `from=${from}&to=${to}`)
  t.ok(window.length > 0 && window.every((r) => r.time >= from && r.time < to), 'from is inclusive, to exclusive')
  t.same((await auditOf(h, 'tenantId=fabrikam')).map((r) => r.operation), ['ServiceRequestOpened', 'LockboxRequestCreated'])
  const all = await auditOf(h, 'operation=LockboxRequestCreated')
  t.same(all.map((r) => r.tenantId), ['contoso', 'contoso', 'fabrikam'], 'a security reader searches every tenant')

  const bad = await h.as('sec-erin', { method: 'GET', url: '/v1/audit?operation=LockboxRequestCreated,Nope' })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().detail, /Nope/)
  t.equal((await h.as('sec-erin', { method: 'GET', url: `/v1/audit?from=${to}&to=${from}` })).statusCode, 400)
  t.equal((await h.as('sec-erin', { method: 'GET', url: '/v1/audit?limit=1001' })).statusCode, 400)
  t.equal((await h.as('sec-erin', { method: 'GET', url: '/v1/audit?from=yesterday' })).statusCode, 400)
})

t.test('pages through the log with a cursor', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  for (let i = 0; i < 7; i++) await openServiceRequest(h)
  const seqs: number[] = []
  let cursor: string | null = null
  do {
    const res = await h.as('contoso-approver', { method: 'GET', url: `/v1/audit?limit=3${cursor === null ? '' : `&cursor=${cursor}`}` })
    seqs.push(...res.json().items.map((r: { seq: number }) => r.seq))
    cursor = res.json().nextCursor
  } while (cursor !== null)
  t.same(seqs, [1, 2, 3, 4, 5, 6, 7])
})

t.test('lets customers read only their own tenant\'s log', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await openServiceRequest(h, 'contoso')
  await openServiceRequest(h, 'fabrikam')
  const own = await h.as('contoso-approver', { method: 'GET', url: '/v1/audit' })
  t.same(own.json().items.map((r: { tenantId: string }) => r.tenantId), ['contoso'], 'defaults to the caller\'s tenant')
  t.equal((await h.as('contoso-admin', { method: 'GET', url: '/v1/audit?tenantId=contoso' })).statusCode, 200)
  t.equal((await h.as('contoso-approver', { method: 'GET', url: '/v1/audit?tenantId=fabrikam' })).statusCode, 403)
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/audit' })).statusCode, 403)
  t.equal((await h.as('eng-ada', { method: 'GET', url: '/v1/audit' })).statusCode, 403)
  t.equal((await h.as('mgr-carol', { method: 'GET', url: '/v1/audit?tenantId=contoso' })).statusCode, 403)
  t.equal((await h.as('contoso-approver', { method: 'GET', url: '/v1/audit/verify?tenantId=fabrikam' })).statusCode, 403)
  const verify = await h.as('contoso-approver', { method: 'GET', url: '/v1/audit/verify?tenantId=contoso' })
  t.equal(verify.statusCode, 200)
  t.match(verify.json(), { tenantId: 'contoso', valid: true, records: 1, headSeq: 1 })
  t.equal((await h.as('sec-erin', { method: 'GET', url: '/v1/audit/verify' })).statusCode, 400, 'verify needs a tenant')
})
