// format=ocsf on search, export and the live stream: every event valid for its OCSF class, and an
// OCSF export still verifiable offline against the chain.
import t from 'tap'
import { verifyExport } from '../../../src/audit/verify-export.js'
import { startTestApp } from '../../helpers/app.js'
import { linesOf } from '../../helpers/audit-records.js'
import { ocsfErrors } from '../../helpers/ocsf.js'
import { openSse } from '../../helpers/sse.js'
import { approvedRequest, createRequest } from '../../helpers/workflow.js'

const parseLines = (body: string): Array<Record<string, any>> => body.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line))

t.test('search and export render OCSF events, each valid for its class, that verify against the chain', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const approved = await approvedRequest(h)
  await createRequest(h, { tenantId: 'fabrikam', scope: '/' })

  const searched = (await h.as('sec-erin', { url: '/v1/audit?format=ocsf&limit=1000' })).json().items as Array<Record<string, any>>
  const native = (await h.as('sec-erin', { url: '/v1/audit?limit=1000' })).json().items as Array<Record<string, any>>
  t.equal(searched.length, native.length)
  t.ok(searched.length >= 6)
  for (const event of searched) t.same(ocsfErrors(event), [], `${String(event.metadata.event_code)} is valid OCSF`)
  t.same(searched.map((e) => e.unmapped.lockbox), native, 'each event carries its native record')
  t.same(searched.map((e) => [e.metadata.uid, e.metadata.sequence]), native.map((r) => [r.id, r.seq]))
  const approval = searched.find((e) => e.metadata.event_code === 'LockboxRequestApproved')
  t.match(approval, { class_uid: 6003, activity_id: 3, metadata: { tenant_uid: 'contoso', correlation_uid: approved.id }, actor: { user: { uid: 'contoso-approver', type_id: 2 } } })

  const exported = await h.as('contoso-approver', { url: '/v1/audit/export?tenantId=contoso&format=ocsf' })
  t.equal(exported.statusCode, 200)
  t.equal(exported.headers['content-disposition'], 'attachment; filename="lockbox-audit-contoso-ocsf.ndjson"')
  const lines = parseLines(exported.body)
  t.same(lines, searched.filter((e) => e.metadata.tenant_uid === 'contoso'))
  const report = await verifyExport(linesOf(lines))
  t.equal(report.valid, true, 'an OCSF export verifies offline')
  t.equal(report.tenants[0]?.records, lines.length)

  const tampered = lines.map((e, i) => i === 1 ? { ...e, unmapped: { lockbox: { ...e.unmapped.lockbox, result: 'Denied' } } } : e)
  t.equal((await verifyExport(linesOf(tampered))).valid, false, 'an edited record breaks the chain')
  t.match((await verifyExport(linesOf([{ class_uid: 6003 }]))).problems, [/line 1: not an audit record/], 'an OCSF event without its native record cannot be checked')
})

t.test('the live stream renders OCSF events when asked to', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${base}/v1/audit/stream?tenantId=contoso&format=ocsf`, await h.token('contoso-approver'))
  t.teardown(stream.close)
  const req = await createRequest(h)
  const events = await stream.waitFor(2)
  for (const event of events) t.same(ocsfErrors(JSON.parse(event.data)), [])
  const event = events[1]
  const data = JSON.parse(event!.data)
  t.match(data, { class_uid: 6003, activity_id: 1, api: { operation: 'LockboxRequestCreated', request: { uid: req.id } }, metadata: { tenant_uid: 'contoso', sequence: 2 } })
  t.equal(event!.id, `contoso:${data.metadata.sequence as number}`)
  const refused = await h.as('sec-erin', { url: '/v1/audit/stream?format=csv' })
  t.equal(refused.statusCode, 400)
})
