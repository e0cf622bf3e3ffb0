// The demonstration of issue 19: with signed approvals, a store edited by an insider cannot open a
// mailbox. On both backends, an "Approved" written straight into the store (with a matching audit
// record, as a careful insider would) gets no token from the gateway, and the content service in
// LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS mode refuses an assertion whose approval is forged, even one
// signed with the gateway's own key.
import t, { type Test } from 'tap'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { accessTokenOf } from '../../helpers/content.js'
import { assertionSignedWithGatewayKey, registerPasskey, signedDecision, upstreamStatus } from '../../helpers/passkeys.js'
import { startRedisServer } from '../../helpers/redis.js'
import { createRequest, review } from '../../helpers/workflow.js'
import { canonicalGrant, type SignedApproval } from '../../../src/domain/approval.js'
import { iso, type LockboxRequest } from '../../../src/domain/lockbox.js'
import type { TenantSettings } from '../../../src/domain/tenant.js'

const ALICE = '/mailboxes/alice@contoso.com'

/** What an insider with write access to the store does: Approved, a window, a record to match. */
async function writeApprovedIntoStore (h: TestApp, id: string, approval?: SignedApproval): Promise<void> {
  const stored = await h.app.stores.lockbox.getRequest(id) as LockboxRequest
  const now = h.now()
  const forged: LockboxRequest = {
    ...stored,
    status: 'Approved',
    decisionDeadline: null,
    accessStartsAt: iso(now),
    accessEndsAt: iso(now + stored.durationMs),
    history: [...stored.history, { at: iso(now), action: 'Approved', actor: { id: 'contoso-approver', role: 'CustomerLockboxApprover' }, comment: null }],
    ...(approval === undefined ? {} : { approval })
  }
  await h.app.stores.lockbox.commit({
    tenantId: 'contoso',
    requests: [{ value: forged, expectedVersion: stored.version }],
    audit: [{ tenantId: 'contoso', operation: 'LockboxRequestApproved', result: 'Success', actor: { id: 'contoso-approver', type: 'CustomerApprover' }, clientIp: null, requestId: id, workload: 'exchange', object: stored.scope, details: {} }]
  })
}

async function demonstrate (t: Test, h: TestApp): Promise<void> {
  const lee = await registerPasskey(h, 'contoso-approver')
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true } })).statusCode, 200)

  // The honest path: signed by the approver, verified by the gateway and by the content service.
  const honest = await createRequest(h)
  await review(h, honest.id)
  const signed = await signedDecision(h, honest.id, lee)
  t.equal(signed.statusCode, 200)
  const approval = signed.json().approval as SignedApproval
  const token = await accessTokenOf(h, honest.id)
  const read = await h.app.inject({ url: `/exchange/contoso${ALICE}/messages`, headers: { authorization: `Bearer ${token}` } })
  t.equal(read.statusCode, 200, 'the content service verified the approvers\' signature and served the mailbox')
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, honest, approval)), 200, 'the honest approval proves itself')

  // The insider: Approved straight into the store, no signature.
  const bare = await createRequest(h)
  await review(h, bare.id)
  await writeApprovedIntoStore(h, bare.id)
  const refused = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${bare.id}/token` })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'APPROVAL_NOT_PROVEN', 'the gateway issues no token for an unsigned Approved')

  // The insider again, reusing the honest signature on another request.
  const copied = await createRequest(h)
  await review(h, copied.id)
  const stolen: SignedApproval = { grant: canonicalGrant({ ...copied, requester: { id: 'eng-ada', name: '' } } as unknown as LockboxRequest), proofs: approval.proofs }
  await writeApprovedIntoStore(h, copied.id, stolen)
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${copied.id}/token` })).json().code, 'APPROVAL_NOT_PROVEN', 'a signature over another grant proves nothing')

  // The insider holding the gateway's key too: the content service still says no.
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, bare)), 403, 'no approval in the assertion')
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, copied, stolen)), 403, 'a copied signature')
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, copied, approval)), 403, 'another request\'s approval')

  // And with the tenant's setting switched off in the store, the gateway would issue — the content
  // service, which trusts only the signatures, does not serve.
  const settings = await h.app.stores.lockbox.getTenantSettings('contoso') as TenantSettings
  await h.app.stores.lockbox.commit({ tenantId: 'contoso', tenantSettings: { value: { ...settings, requireSignedApprovals: false }, expectedVersion: settings.version }, audit: [] })
  const minted = await accessTokenOf(h, bare.id)
  const read2 = await h.app.inject({ url: `/exchange/contoso${ALICE}/messages`, headers: { authorization: `Bearer ${minted}` } })
  t.equal(read2.statusCode, 403, 'the content service refuses what only the gateway believed')
}

t.test('on the embedded store, an Approved written by an insider opens nothing', async (t) => {
  const h = await startTestApp({ config: { mockRequireSignedApprovals: true } })
  t.teardown(h.close)
  await demonstrate(t, h)
})

t.test('on Redis, an Approved written by an insider opens nothing', async (t) => {
  const redis = await startRedisServer()
  t.teardown(redis.stop)
  const h = await startTestApp({ config: { mockRequireSignedApprovals: true, store: 'redis', redisUrl: redis.url } })
  t.teardown(h.close)
  await demonstrate(t, h)
})
