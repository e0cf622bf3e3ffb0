// The workflow decides the grant events: each step that takes a request out of Approved carries
// one, on its own commit (the stores publish what a change carries and derive none). Walked over
// HTTP on the app's real store, as a subscriber on the hot path hears them.
import t from 'tap'
import type { GrantEvent } from '../../src/stores/types.js'
import { sweepOnce } from '../../src/workflow/sweeper.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import type { Test } from '../stores/contract-fixtures.js'
import { approvedRequest, createRequest, decide, openServiceRequest, review } from '../helpers/workflow.js'

const HOUR = 3600_000

async function appHearing (t: Test): Promise<{ h: TestApp, events: GrantEvent[] }> {
  const h = await startTestApp()
  t.teardown(h.close)
  const events: GrantEvent[] = []
  t.teardown(h.app.stores.grantEvents.subscribe((event) => events.push(event)))
  return { h, events }
}

t.test('a revoke, a cancel and a service request close each publish the end of the grants they end', async (t) => {
  const { h, events } = await appHearing(t)
  const revoked = await approvedRequest(h)
  const canceled = await approvedRequest(h)
  t.same(events, [], 'creating and approving ends no grant')

  t.equal((await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${revoked.id}/revoke`, payload: {} })).statusCode, 200)
  t.same(events, [{ requestId: revoked.id, tenantId: 'contoso', status: 'Revoked' }], 'heard by the time the revoke is answered')
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${canceled.id}/cancel`, payload: {} })).statusCode, 200)
  t.same(events.slice(1), [{ requestId: canceled.id, tenantId: 'contoso', status: 'Completed' }])

  const sr = await openServiceRequest(h)
  const active = await approvedRequest(h, { serviceRequestNumber: sr })
  const awaiting = await createRequest(h, { serviceRequestNumber: sr })
  t.equal((await h.as('contoso-user', { method: 'POST', url: `/v1/tenants/contoso/service-requests/${sr}/close` })).statusCode, 200)
  t.same(events.slice(2), [{ requestId: active.id, tenantId: 'contoso', status: 'Completed' }], `the active grant ended; ${awaiting.id}, never approved, had none to end`)
})

t.test('the sweeper publishes the end of a window it writes down, and nothing for the requests it expires', async (t) => {
  const { h, events } = await appHearing(t)
  const active = await approvedRequest(h)
  await createRequest(h)
  h.advance(13 * HOUR)
  t.equal(await sweepOnce(h.app.workflow), 2, 'one completion, one expiry')
  t.same(events, [{ requestId: active.id, tenantId: 'contoso', status: 'Completed' }])
})

t.test('steps that keep a request Approved publish nothing: a token, an extension and its decisions', async (t) => {
  const { h, events } = await appHearing(t)
  const approved = await approvedRequest(h)
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${approved.id}/token` })).statusCode, 201)
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${approved.id}/extend`, payload: { duration: 'PT30M', justification: 'one more rule' } })).statusCode, 200)
  await review(h, approved.id)
  const extended = await decide(h, approved.id)
  t.equal(extended.status, 'Approved')
  t.not(extended.accessEndsAt, approved.accessEndsAt, 'the window grew')
  const denied = await createRequest(h)
  await review(h, denied.id)
  await decide(h, denied.id, 'Deny')
  t.same(events, [], 'no grant ended')
})
