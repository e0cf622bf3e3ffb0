// The mocks' signed-approvals mode against a real gateway's published keys, over HTTP.
import t from 'tap'
import { buildMockService } from '../../src/mocks/index.js'
import { approvalRefusal, remoteApproverKeys } from '../../src/mocks/approvals.js'
import { canonicalGrant, grantChallenge, type ApprovalProof, type SignedApproval } from '../../src/domain/approval.js'
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
  const r = lee.assert(grantChallenge(grant)) as { id: string, response: Record<string, string> }
  const proof: ApprovalProof = {
    kid: r.id, approver: 'contoso-approver', authenticatorData: r.response.authenticatorData as string, clientDataJSON: r.response.clientDataJSON as string, signature: r.response.signature as string, approvedAt: new Date(h.now()).toISOString()
  }
  const approval: SignedApproval = { grant, proofs: [proof] }
  const claims = { requestId: 'req-0001', tenantId: 'contoso', scope: '/', accessLevel: 'readwrite', approval }
  t.equal(await approvalRefusal(claims, 'exchange', keys), null)
  t.match(await approvalRefusal({ ...claims, approval: undefined }, 'exchange', keys), /no signed approval/)
  t.match(await approvalRefusal({ ...claims, approval: { grant: null, proofs: [] } }, 'exchange', keys), /no signed approval/)
  t.match(await approvalRefusal({ ...claims, scope: '/mailboxes' }, 'exchange', keys), /scope is not the assertion's/)
  t.match(await approvalRefusal(claims, 'sharepoint', keys), /another workload/)
  t.match(await approvalRefusal({ ...claims, approval: { grant, proofs: [] } }, 'exchange', keys), /0 approver signature/)

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
