// The mocks' signed-approvals mode against a real gateway's published keys, over HTTP.
import t from 'tap'
import { buildMockService } from '../../src/mocks/index.js'
import { approvalRefusal, remoteApproverKeys } from '../../src/mocks/approvals.js'
import { canonicalGrant, grantChallenge, type ApprovalProof, type Signable, type SignedApproval } from '../../src/domain/approval.js'
import { canonicalExtension, type SignedExtension } from '../../src/domain/signed-extension.js'
import type { SoftAuthenticator } from '../helpers/authenticator.js'
import { startTestApp } from '../helpers/app.js'
import { listen } from '../helpers/content.js'
import { createAssertionSigner, TEST_ISSUER } from '../helpers/mock-assertions.js'
import { registerPasskey } from '../helpers/passkeys.js'

const REQUEST = {
  id: 'req-0001',
  tenantId: 'contoso',
  workload: 'exchange' as const,
  scope: '/',
  accessLevel: 'readwrite' as const,
  duration: 'PT1H',
  requester: { id: 'eng-ada', name: 'Ada' },
  serviceRequestNumber: '100001',
  justification: 'j'
}

function proofOf<G extends Signable> (a: SoftAuthenticator, grant: G, at: number): ApprovalProof<G> {
  const r = a.assert(grantChallenge(grant)) as { id: string, response: Record<string, string> }
  return { kid: r.id, approver: 'contoso-approver', authenticatorData: r.response.authenticatorData as string, clientDataJSON: r.response.clientDataJSON as string, signature: r.response.signature as string, approvedAt: new Date(at).toISOString() }
}

/** One more hour from the end of the approval's own window, signed. */
function extensionOf (approval: SignedApproval, a: SoftAuthenticator, approvedAt: number): SignedExtension {
  const end = new Date(approvedAt + 3_600_000).toISOString()
  const grant = canonicalExtension({ ...REQUEST, accessEndsAt: end, extension: { justification: 'more', requestedAt: end } }, grantChallenge(approval.grant), 'PT1H')
  return { grant, proofs: [proofOf(a, grant, approvedAt)], required: 1 }
}

t.test('verifies approvals against the keys a gateway publishes, and fails closed without them', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const port = await listen(h)
  const lee = await registerPasskey(h, 'contoso-approver')
  let clock = 0
  const keys = remoteApproverKeys(`http://127.0.0.1:${port}`, 1000, () => clock)
  const set = await keys('contoso')
  t.same(set.keys.map((k) => k.kid), [lee.id])
  await registerPasskey(h, 'contoso-admin')
  t.equal((await keys('contoso')).keys.length, 1, 'kept for its max age')
  clock += 1000
  t.equal((await keys('contoso')).keys.length, 2, 'then fetched again')
  await t.rejects(keys('nowhere'), /HTTP 404/)

  const grant = canonicalGrant(REQUEST)
  const approval: SignedApproval = { grant, proofs: [proofOf(lee, grant, h.now())] }
  const claims = { requestId: 'req-0001', tenantId: 'contoso', scope: '/', accessLevel: 'readwrite', approval }
  t.equal(await approvalRefusal(claims, 'exchange', keys, h.now()), null)
  t.match(await approvalRefusal({ ...claims, approval: undefined }, 'exchange', keys, h.now()), /no signed approval/)
  t.match(await approvalRefusal({ ...claims, approval: { grant: null, proofs: [] } }, 'exchange', keys, h.now()), /no signed approval/)
  t.match(await approvalRefusal({ ...claims, scope: '/mailboxes' }, 'exchange', keys, h.now()), /scope is not the assertion's/)
  t.match(await approvalRefusal(claims, 'sharepoint', keys, h.now()), /another workload/)
  t.match(await approvalRefusal({ ...claims, approval: { grant, proofs: [] } }, 'exchange', keys, h.now()), /0 approver signature/)
  t.match(await approvalRefusal({ ...claims, approval: { ...approval, extensions: {} } }, 'exchange', keys, h.now()), /extensions are not a list/)
  t.match(await approvalRefusal(claims, 'exchange', keys, h.now() + 3_600_000), /window the approvers signed ended at/, 'PT1H after the approval')
  const extension = extensionOf(approval, lee, h.now())
  t.equal(await approvalRefusal({ ...claims, approval: { ...approval, extensions: [extension] } }, 'exchange', keys, h.now() + 3_600_000), null, 'inside the signed extension')
  const borrowed = { ...extension, grant: { ...extension.grant, duration: 'PT5H' } }
  t.match(await approvalRefusal({ ...claims, approval: { ...approval, extensions: [borrowed] } }, 'exchange', keys, h.now()), /not this grant/, 'an extension its signature is not over')

  const signer = await createAssertionSigner()
  const mock = buildMockService('exchange', { keys: signer.keys, issuer: TEST_ISSUER, approverKeys: keys })
  const broken = buildMockService('exchange', { keys: signer.keys, issuer: TEST_ISSUER, approverKeys: async () => { throw new Error('down') } })
  t.teardown(async () => { await mock.close(); await broken.close() })
  const get = async (app: typeof mock, extra: Record<string, unknown>): Promise<number> =>
    (await app.inject({ url: '/tenants/contoso/mailboxes', headers: { 'x-lockbox-assertion': await signer.sign('exchange', 'contoso', { claims: extra }) } })).statusCode
  t.equal(await get(mock, { approval }), 200)
  t.equal(await get(mock, {}), 403, 'no approval')
  t.equal(await get(broken, { approval }), 503, 'keys that cannot be read prove nothing')
})
