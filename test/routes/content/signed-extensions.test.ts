// Issue 19 on issue 18: an extension of the window is signed like the approval, so a store edited by
// an insider cannot lengthen access. On both backends: an honest extension signed with a passkey
// opens content past the original end; a window lengthened straight in the store, or an "approved"
// extension written there with borrowed signatures, gets no token, and the content service in
// LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS mode refuses content past the window the approvers signed
// even to someone who holds the gateway's key.
import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { accessTokenOf } from '../../helpers/content.js'
import { assertionSignedWithGatewayKey, registerPasskey, signedDecision, upstreamStatus } from '../../helpers/passkeys.js'
import { startRedisServer } from '../../helpers/redis.js'
import { auditOf, createRequest, review } from '../../helpers/workflow.js'
import { approvalDigest, type SignedApproval } from '../../../src/domain/approval.js'
import { iso, type LockboxRequest } from '../../../src/domain/lockbox.js'
import type { SignedExtension } from '../../../src/domain/signed-extension.js'

const ALICE = '/mailboxes/alice@contoso.com'
const HOUR = 3_600_000

/** What an insider with write access to the store does: a longer window, perhaps an approved extension, a record to match. */
async function writeIntoStore (h: TestApp, id: string, change: (stored: LockboxRequest) => Partial<LockboxRequest>): Promise<void> {
  const stored = await h.app.stores.lockbox.getRequest(id) as LockboxRequest
  await h.app.stores.lockbox.commit({
    tenantId: 'contoso',
    requests: [{ value: { ...stored, ...change(stored) }, expectedVersion: stored.version }],
    audit: [{ tenantId: 'contoso', operation: 'LockboxExtensionApproved', result: 'Success', actor: { id: 'contoso-approver', type: 'CustomerApprover' }, clientIp: null, requestId: id, workload: 'exchange', object: stored.scope, details: {} }]
  })
}

async function read (h: TestApp, token: string): Promise<number> {
  return (await h.app.inject({ url: `/exchange/contoso${ALICE}/messages`, headers: { authorization: `Bearer ${token}` } })).statusCode
}

async function demonstrate (t: Test, h: TestApp): Promise<void> {
  const lee = await registerPasskey(h, 'contoso-approver')
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true } })).statusCode, 200)

  // The honest path: a signed approval for PT2H, then a signed extension of one hour.
  const req = await createRequest(h)
  await review(h, req.id)
  t.equal((await signedDecision(h, req.id, lee)).statusCode, 200)
  const opened = h.now()
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/extend`, payload: { duration: 'PT1H', justification: 'Still looping' } })).statusCode, 200)
  await review(h, req.id)
  const unsigned = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve' } })
  t.equal(unsigned.json().code, 'SIGNED_APPROVAL_REQUIRED', 'an extension needs the approver\'s signature too')
  const options = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/approval-options` })
  t.equal(options.statusCode, 200)
  const { grant, challenge } = options.json()
  t.same([grant.type, grant.accessEndsAt, grant.duration], ['lockbox-extension/v1', iso(opened + 2 * HOUR), 'PT1H'], 'the approver signs the window end it extends and the time added')
  const mismatched = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve', duration: 'PT30M', webauthn: lee.assert(challenge) } })
  t.equal(mismatched.json().code, 'APPROVAL_SIGNATURE_INVALID', 'a signature over one hour does not approve thirty minutes')
  const extended = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve', webauthn: lee.assert(challenge) } })
  t.equal(extended.statusCode, 200)
  t.equal(extended.json().accessEndsAt, iso(opened + 3 * HOUR))
  const approval = extended.json().approval as SignedApproval
  t.equal(approval.extensions?.length, 1, 'the request\'s signed approval carries the signed extension')
  const [record] = await auditOf(h, `requestId=${req.id}&operation=LockboxExtensionApproved`)
  t.same((record?.details.approval as SignedExtension).proofs.map((p) => p.approver), ['contoso-approver'], 'and so does its record')

  // Past the original end, inside the extension: the token and the content service both agree.
  h.advance(2.5 * HOUR)
  const token = await accessTokenOf(h, req.id)
  t.same(decodeJwt(token).approval, { digest: approvalDigest(approval), href: `/v1/requests/${req.id}` }, 'the token names the approval with its extensions')
  t.equal(decodeJwt(token).exp, Math.floor((opened + 3 * HOUR) / 1000))
  t.equal(await read(h, token), 200, 'the content service verified the extension and served the mailbox')

  // The insider lengthens the window in the store: no token.
  await writeIntoStore(h, req.id, () => ({ accessEndsAt: iso(opened + 6 * HOUR) }))
  const longer = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })
  t.equal(longer.statusCode, 403)
  t.equal(longer.json().code, 'APPROVAL_NOT_PROVEN', 'no token past the signed window')

  // The insider writes an approved extension too, with the honest extension's signatures on it.
  const honest = approval.extensions?.[0] as SignedExtension
  const forgedExtension: SignedExtension = { ...honest, grant: { ...honest.grant, accessEndsAt: iso(opened + 3 * HOUR), duration: 'PT3H' } }
  const forged: SignedApproval = { ...approval, extensions: [honest, forgedExtension] }
  await writeIntoStore(h, req.id, (s) => ({
    approval: forged,
    extension: { ...s.extension!, duration: 'PT3H', grantedDuration: 'PT3H', signed: forgedExtension, previousAccessEndsAt: iso(opened + 3 * HOUR) }
  }))
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })).json().code, 'APPROVAL_NOT_PROVEN', 'borrowed signatures prove no extension')

  // Past the signed window, the content service serves no one, even with the gateway's key.
  h.advance(HOUR)
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, req, forged)), 403, 'a forged extension')
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, req, approval)), 403, 'the honest approval, past its signed window')
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, req, { ...approval, extensions: [] })), 403, 'without its extension')
  h.advance(-HOUR)
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, req, approval)), 200, 'the honest approval inside its window')
  t.equal(await upstreamStatus(h, await assertionSignedWithGatewayKey(h, req, { ...approval, extensions: [] })), 403, 'its extension left out: past the grant\'s own window')
}

t.test('on the embedded store, a window lengthened by an insider opens nothing', async (t) => {
  const h = await startTestApp({ config: { mockRequireSignedApprovals: true } })
  t.teardown(h.close)
  await demonstrate(t, h)
})

t.test('on Redis, a window lengthened by an insider opens nothing', async (t) => {
  const redis = await startRedisServer()
  t.teardown(redis.stop)
  const h = await startTestApp({ config: { mockRequireSignedApprovals: true, store: 'redis', redisUrl: redis.url } })
  t.teardown(h.close)
  await demonstrate(t, h)
})
