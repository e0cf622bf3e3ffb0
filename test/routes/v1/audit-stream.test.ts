import t from 'tap'
import { Writable } from 'node:stream'
import { writeOrCut } from '../../../src/routes/v1/audit-stream.js'
import { startTestApp } from '../../helpers/app.js'
import { openSse } from '../../helpers/sse.js'
import { createRequest, decide, openServiceRequest, review } from '../../helpers/workflow.js'

t.test('streams each new record of the tenant as it is committed', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${base}/v1/audit/stream?tenantId=contoso`, await h.token('contoso-approver'))
  t.teardown(stream.close)
  t.equal(stream.status, 200)
  t.match(stream.headers['content-type'], /^text\/event-stream/)

  await openServiceRequest(h, 'fabrikam')
  const req = await createRequest(h)
  const events = await stream.waitFor(2)
  t.same(events.map((e) => [e.event, JSON.parse(e.data).operation]), [['record', 'ServiceRequestOpened'], ['record', 'LockboxRequestCreated']], 'fabrikam records do not appear')
  t.equal(events[1]?.id, `contoso:${JSON.parse(events[1]?.data as string).seq as number}`)
  t.equal(JSON.parse(events[1]?.data as string).requestId, req.id)
  t.match(stream.body(), /^retry: 2000\n/)
})

t.test('follows one request only when asked to', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const watched = await createRequest(h)
  const other = await createRequest(h)
  const stream = await openSse(`${base}/v1/audit/stream?requestId=${watched.id}`, await h.token('contoso-admin'))
  t.teardown(stream.close)
  await review(h, other.id)
  await review(h, watched.id)
  await decide(h, watched.id)
  const events = await stream.waitFor(2)
  t.same(events.map((e) => JSON.parse(e.data).operation), ['LockboxRequestManagerApproved', 'LockboxRequestApproved'])
  t.ok(events.every((e) => JSON.parse(e.data).requestId === watched.id))
})

t.test('lets a security reader follow every tenant', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${base}/v1/audit/stream`, await h.token('sec-erin'))
  t.teardown(stream.close)
  await openServiceRequest(h, 'contoso')
  await openServiceRequest(h, 'fabrikam')
  const events = await stream.waitFor(2)
  t.same(events.map((e) => JSON.parse(e.data).tenantId), ['contoso', 'fabrikam'])
})

t.test('refuses callers who may not read the tenant\'s log, before streaming anything', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const refused: Array<[string, string]> = [['fabrikam-approver', '?tenantId=contoso'], ['contoso-user', ''], ['eng-ada', '?tenantId=contoso']]
  for (const [user, query] of refused) {
    const stream = await openSse(`${base}/v1/audit/stream${query}`, await h.token(user))
    t.equal(stream.status, 403, user)
    t.match(stream.headers['content-type'], /problem\+json/)
    stream.close()
  }
  const anonymous = await h.app.inject({ url: '/v1/audit/stream?tenantId=contoso' })
  t.equal(anonymous.statusCode, 401)
})

t.test('ends open streams when the server shuts down', async (t) => {
  const h = await startTestApp()
  const base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${base}/v1/audit/stream?tenantId=contoso`, await h.token('contoso-approver'))
  await h.close()
  t.pass('close did not wait on the open stream')
  stream.close()
})

t.test('stops listening when the client goes away', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${base}/v1/audit/stream?tenantId=contoso`, await h.token('contoso-approver'))
  stream.close()
  await new Promise((resolve) => setTimeout(resolve, 100))
  await openServiceRequest(h)
  t.equal(stream.events.length, 0)
})

t.test('cuts off a client that stopped reading rather than buffering without end', async (t) => {
  // A writable that never finishes a write: what a stalled client looks like from our side.
  const stalled = new Writable({ write () {} })
  t.equal(writeOrCut(stalled, 'x'.repeat(600), 1000), true)
  t.equal(writeOrCut(stalled, 'x'.repeat(600), 1000), true, '600 bytes behind is within the limit')
  t.equal(writeOrCut(stalled, 'x', 1000), false, 'past the limit the stream is cut')
  t.equal(stalled.destroyed, true)
})
