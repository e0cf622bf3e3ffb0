// What `GET /v1/audit/verify` proves beyond the chain's integrity (issue #10): no ContentAccessed
// after the record that ended its request, and stored state the chain backs; and a gateway that
// refuses to start on an Approved request its chain does not back (edited at rest).
import t, { type Test } from 'tap'
import type { LockboxRequest } from '../../../src/domain/lockbox.js'
import { openStores } from '../../../src/stores/open.js'
import { StateNotBackedError } from '../../../src/errors.js'
import { startTestApp, START, type TestApp } from '../../helpers/app.js'
import { tempDir } from '../../helpers/config.js'
import { freePort } from '../../helpers/redis.js'
import { approvedRequest } from '../../helpers/workflow.js'

async function verifyOf (h: TestApp): Promise<Record<string, any>> {
  const res = await h.as('sec-erin', { method: 'GET', url: '/v1/audit/verify?tenantId=contoso' })
  t.equal(res.statusCode, 200)
  return res.json()
}

async function revoked (h: TestApp): Promise<string> {
  const request = await approvedRequest(h)
  const res = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${request.id}/revoke` })
  if (res.statusCode !== 200) throw new Error(res.body)
  return request.id
}

t.test('names every ContentAccessed sealed after the record that ended its request', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const requestId = await revoked(h)
  t.match(await verifyOf(h), { valid: true, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0, stateMismatches: [] })
  // What a gateway without the store's check could have written: an access sealed after the revoke.
  const [revokeRecord] = (await h.app.stores.audit.query({ tenantId: 'contoso', requestId, operations: ['LockboxAccessRevoked'], limit: 1 })).items
  const [late] = await h.app.stores.lockbox.commit({
    tenantId: 'contoso',
    audit: [{ tenantId: 'contoso', operation: 'ContentAccessed', result: 'Success', actor: { id: 'eng-ada', type: 'SupportEngineer' }, clientIp: '127.0.0.1', requestId, workload: 'exchange', object: '/contoso/mailboxes/alice', details: {} }]
  })
  t.match(await verifyOf(h), {
    valid: false,
    firstInvalidSeq: null,
    invariantViolations: [{ seq: late?.seq, requestId, endedBySeq: revokeRecord?.seq }],
    invariantViolationCount: 1
  })
})

/** Changes a stored request behind the gateway's back: a put with no record, as an edit at rest would. */
async function editAtRest (t: Test, h: TestApp, requestId: string, edit: (request: LockboxRequest) => LockboxRequest): Promise<void> {
  const stores = await openStores(h.config, { now: Date.now, log: h.app.log })
  t.teardown(() => stores.close())
  const stored = await stores.lockbox.getRequest(requestId) as LockboxRequest
  await stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: edit(stored), expectedVersion: stored.version }], audit: [] })
  await stores.close()
}

t.test('refuses to start on an Approved request its chain does not back, naming it', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const h = await startTestApp({ dataDir: dir.path })
  const requestId = await revoked(h)
  await h.close()
  await editAtRest(t, h, requestId, (request) => ({ ...request, status: 'Approved', accessEndsAt: new Date(START + 3_600_000).toISOString() }))
  await t.rejects(startTestApp({ dataDir: dir.path }), new StateNotBackedError(
    `request ${requestId} of tenant contoso is stored as Approved, but its audit chain says otherwise (record 5 left it Revoked): the stored state was changed outside the gateway`))
})

t.test('reports stored state the chain does not back, of any status', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const first = await startTestApp({ dataDir: dir.path })
  const requestId = await revoked(first)
  await first.close()
  await editAtRest(t, first, requestId, (request) => ({ ...request, status: 'Denied' }))
  const h = await startTestApp({ dataDir: dir.path })
  t.teardown(h.close)
  t.match(await verifyOf(h), {
    valid: false,
    firstInvalidSeq: null,
    invariantViolations: [],
    stateMismatches: [{ requestId, storedStatus: 'Denied', chainStatus: 'Revoked', field: 'status' }]
  })
})

t.test('starts while a shared store does not answer yet, leaving the check to audit verify', async (t) => {
  const port = await freePort()
  const h = await startTestApp({ config: { store: 'redis', redisUrl: `redis://127.0.0.1:${port}` } })
  t.teardown(h.close)
  t.equal((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'up, answering 503 until the store answers')
})
