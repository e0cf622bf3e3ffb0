import { generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { startTestApp } from '../../helpers/app.js'
import { SoftAuthenticator } from '../../helpers/authenticator.js'
import { approvalChallenge, registerPasskey, RP, signedDecision } from '../../helpers/passkeys.js'
import { auditOf, createRequest, decide, review } from '../../helpers/workflow.js'
import { canonicalGrant, grantChallenge } from '../../../src/domain/approval.js'

t.test('registers, lists and revokes approver passkeys, each on the audit chain', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const lee = await registerPasskey(h, 'contoso-approver')
  const megan = await registerPasskey(h, 'contoso-admin', 'contoso', { alg: 'EdDSA' })

  const list = await h.as('contoso-admin', { method: 'GET', url: '/v1/tenants/contoso/passkeys' })
  t.equal(list.statusCode, 200)
  t.same(list.json().items.map((k: any) => [k.kid, k.approver.id, k.alg, k.revokedAt]), [
    [lee.id, 'contoso-approver', 'ES256', null],
    [megan.id, 'contoso-admin', 'EdDSA', null]
  ])
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso/passkeys' })).statusCode, 403)
  t.equal((await h.as('fabrikam-admin', { method: 'GET', url: '/v1/tenants/contoso/passkeys' })).statusCode, 403)
  t.equal((await h.as('eng-ada', { method: 'POST', url: '/v1/tenants/contoso/passkeys/registration-options' })).statusCode, 403)
  t.equal((await h.as('contoso-admin', { method: 'GET', url: '/v1/tenants/nowhere/passkeys' })).statusCode, 404)

  const published = await h.app.inject({ method: 'GET', url: '/v1/tenants/contoso/approver-keys' })
  t.equal(published.statusCode, 200, 'published without an identity')
  const set = published.json()
  t.same([set.tenantId, set.rpId, set.origins], ['contoso', '127.0.0.1', ['http://127.0.0.1:8080']])
  t.same(set.keys.map((k: any) => [k.kid, k.sub, k.kty, k.alg, k.use, typeof k.nbf, k.exp]), [
    [lee.id, 'contoso-approver', 'EC', 'ES256', 'sig', 'number', undefined],
    [megan.id, 'contoso-admin', 'OKP', 'EdDSA', 'sig', 'number', undefined]
  ])
  t.equal((await h.app.inject({ method: 'GET', url: '/v1/tenants/nowhere/approver-keys' })).statusCode, 404)

  t.equal((await h.as('contoso-approver', { method: 'POST', url: `/v1/tenants/contoso/passkeys/${megan.id}/revoke` })).statusCode, 403, 'an approver revokes only their own')
  const revoked = await h.as('contoso-admin', { method: 'POST', url: `/v1/tenants/contoso/passkeys/${lee.id}/revoke` })
  t.equal(revoked.statusCode, 200)
  t.equal(revoked.json().revokedBy, 'contoso-admin')
  t.equal((await h.as('contoso-admin', { method: 'POST', url: `/v1/tenants/contoso/passkeys/${lee.id}/revoke` })).statusCode, 409)
  t.equal((await h.as('contoso-admin', { method: 'POST', url: '/v1/tenants/contoso/passkeys/nope/revoke' })).statusCode, 404)
  t.equal((await h.as('contoso-admin', { method: 'POST', url: `/v1/tenants/contoso/passkeys/${megan.id}/revoke` })).statusCode, 200, 'an admin may revoke their own')
  const after = (await h.app.inject({ method: 'GET', url: '/v1/tenants/contoso/approver-keys' })).json()
  t.ok(after.keys.every((k: any) => typeof k.exp === 'number'), 'revoked keys stay published, with the end of their validity')

  const records = await auditOf(h, 'tenantId=contoso&operation=ApproverKeyRegistered,ApproverKeyRevoked')
  t.same(records.map((r) => [r.operation, r.object, r.actor.id]), [
    ['ApproverKeyRegistered', lee.id, 'contoso-approver'],
    ['ApproverKeyRegistered', megan.id, 'contoso-admin'],
    ['ApproverKeyRevoked', lee.id, 'contoso-admin'],
    ['ApproverKeyRevoked', megan.id, 'contoso-admin']
  ])
  t.equal(records[0]?.details.jwk.kty, 'EC', 'the registered public key is on the record')
})

t.test('refuses registrations that are not a fresh passkey of the caller for this relying party', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const options = (await h.as('contoso-approver', { method: 'POST', url: '/v1/tenants/contoso/passkeys/registration-options' })).json()
  t.equal(options.rp.id, '127.0.0.1')
  t.equal(options.authenticatorSelection.userVerification, 'required')
  const post = async (user: string, body: unknown, tenant = 'contoso'): Promise<{ statusCode: number, json: () => any }> =>
    await h.as(user, { method: 'POST', url: `/v1/tenants/${tenant}/passkeys`, payload: body as object })

  const foreign = new SoftAuthenticator({ origin: 'https://evil.example', rpId: RP.rpId })
  t.equal((await post('contoso-approver', foreign.register(options))).json().code, 'PASSKEY_INVALID', 'another origin')
  const unverified = new SoftAuthenticator({ ...RP, withoutFlags: 0x04 })
  t.equal((await post('contoso-approver', unverified.register(options))).json().code, 'PASSKEY_INVALID', 'no user verification')
  const good = new SoftAuthenticator(RP)
  t.equal((await post('contoso-admin', good.register(options))).json().code, 'PASSKEY_INVALID', 'a challenge issued to someone else')
  t.equal((await post('contoso-approver', good.register({ challenge: Buffer.from('made-up').toString('base64url') }))).json().code, 'PASSKEY_INVALID', 'a challenge the gateway never signed')
  // Well-formed registration challenges for this caller, signed by a key the gateway does not hold.
  const { privateKey } = await generateKeyPair('EdDSA')
  for (const kid of ['another-gateways-key', undefined]) {
    const jwt = await new SignJWT({ tid: 'contoso' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'lockbox-passkey-registration+jwt', ...(kid === undefined ? {} : { kid }) })
      .setSubject('contoso-approver')
      .sign(privateKey)
    t.equal((await post('contoso-approver', good.register({ challenge: Buffer.from(jwt).toString('base64url') }))).json().code, 'PASSKEY_INVALID', `a challenge signed by a key it does not hold (kid ${String(kid)})`)
  }
  t.equal((await post('contoso-approver', { id: 'x' })).statusCode, 400, 'not a credential')
  t.equal((await post('contoso-user', good.register(options))).statusCode, 403)
  t.equal((await post('contoso-approver', good.register(options), 'nowhere')).statusCode, 404)
  t.equal((await post('contoso-approver', good.register(options))).statusCode, 201)
  t.equal((await post('contoso-approver', good.register(options))).statusCode, 409, 'the same credential twice')
  const windowsHello = await registerPasskey(h, 'contoso-admin', 'contoso', { alg: 'RS256' })
  const rsa = (await h.app.inject({ url: '/v1/tenants/contoso/approver-keys' })).json().keys.find((k: any) => k.kid === windowsHello.id)
  t.same([rsa.kty, rsa.alg, typeof rsa.n, rsa.e], ['RSA', 'RS256', 'string', 'AQAB'], 'an RS256 passkey is published as an RSA JWK')
  h.advance(10 * 60_000)
  t.equal((await post('contoso-approver', new SoftAuthenticator(RP).register(options))).json().code, 'PASSKEY_INVALID', 'an expired challenge')
})

t.test('excludes only the caller\'s own live passkeys from new registration options', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const first = await registerPasskey(h, 'contoso-approver')
  const second = await registerPasskey(h, 'contoso-approver')
  await registerPasskey(h, 'contoso-admin')
  t.equal((await h.as('contoso-approver', { method: 'POST', url: `/v1/tenants/contoso/passkeys/${first.id}/revoke` })).statusCode, 200)
  const options = (await h.as('contoso-approver', { method: 'POST', url: '/v1/tenants/contoso/passkeys/registration-options' })).json()
  t.same(options.excludeCredentials.map((c: any) => c.id), [second.id], 'not the revoked one, not another approver\'s')
})

t.test('registers a passkey whose browser names no transports, and offers it for signing without any', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const options = (await h.as('contoso-approver', { method: 'POST', url: '/v1/tenants/contoso/passkeys/registration-options' })).json()
  const lee = new SoftAuthenticator(RP)
  const response = lee.register(options) as { response: Record<string, unknown> }
  delete response.response.transports
  t.equal((await h.as('contoso-approver', { method: 'POST', url: '/v1/tenants/contoso/passkeys', payload: response })).statusCode, 201)
  const usb = await registerPasskey(h, 'contoso-approver')
  const req = await createRequest(h)
  await review(h, req.id)
  const { options: signing } = await approvalChallenge(h, req.id)
  t.same(signing.allowCredentials.map((c: any) => [c.id, c.transports]), [[lee.id, []], [usb.id, ['usb']]])
  t.equal((await signedDecision(h, req.id, lee)).json().status, 'Approved', 'and it signs')
})

t.test('requires signed approvals once the tenant turns them on, and keeps the proof on the request and its record', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const patch = async (body: object): Promise<{ statusCode: number, json: () => any }> =>
    await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: body })
  t.equal((await patch({ requireSignedApprovals: true })).statusCode, 409, 'not before someone can sign')
  const lee = await registerPasskey(h, 'contoso-approver')
  const on = await patch({ requireSignedApprovals: true })
  t.equal(on.statusCode, 200)
  t.equal(on.json().requireSignedApprovals, true)
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso' })).json().requireSignedApprovals, true)
  const [settings] = await auditOf(h, 'tenantId=contoso&operation=TenantSettingsUpdated')
  t.same(settings?.details.changes, { requireSignedApprovals: { from: false, to: true } })
  t.equal((await patch({ lockboxEnabled: true })).json().requireSignedApprovals, true, 'other patches keep it')

  const req = await createRequest(h)
  await review(h, req.id)
  const unsigned = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve' } })
  t.equal(unsigned.statusCode, 400)
  t.equal(unsigned.json().code, 'SIGNED_APPROVAL_REQUIRED')

  const challenge = await approvalChallenge(h, req.id)
  t.same(challenge.grant, {
    type: 'lockbox-grant/v1',
    requestId: req.id,
    tenantId: 'contoso',
    workload: 'exchange',
    scope: '/mailboxes/alice@contoso.com',
    accessLevel: 'read',
    duration: 'PT2H',
    requester: 'eng-ada',
    serviceRequestNumber: req.serviceRequestNumber,
    justification: 'Mailbox rule loop'
  })
  t.equal(challenge.challenge, grantChallenge(canonicalGrant({ ...req, requester: { id: 'eng-ada', name: '' } } as any)))
  t.equal(challenge.options.challenge, challenge.challenge)
  t.same(challenge.options.allowCredentials.map((c: any) => c.id), [lee.id], 'only the approver\'s own keys')
  t.equal((await h.as('contoso-admin', { method: 'POST', url: `/v1/requests/${req.id}/approval-options` })).json().code, 'INVALID_STATE', 'no passkey, no challenge')
  t.equal((await h.as('fabrikam-admin', { method: 'POST', url: `/v1/requests/${req.id}/approval-options` })).statusCode, 404)
  t.equal((await h.as('mgr-carol', { method: 'POST', url: `/v1/requests/${req.id}/approval-options` })).statusCode, 403)

  const decideWith = async (webauthn: unknown, user = 'contoso-approver'): Promise<{ statusCode: number, json: () => any }> =>
    await h.as(user, { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve', webauthn } })
  const other = await createRequest(h)
  const otherChallenge = grantChallenge(canonicalGrant({ ...other, requester: { id: 'eng-ada', name: '' } } as any))
  t.equal((await decideWith(lee.assert(otherChallenge))).json().code, 'APPROVAL_SIGNATURE_INVALID', 'a signature over another grant')
  t.equal((await decideWith(lee.assert(challenge.challenge, { origin: 'https://evil.example' }))).json().code, 'APPROVAL_SIGNATURE_INVALID', 'from another origin')
  t.equal((await decideWith(lee.assert(challenge.challenge), 'contoso-admin')).json().code, 'APPROVAL_SIGNATURE_INVALID', 'someone else\'s passkey')
  const stranger = new SoftAuthenticator(RP)
  t.equal((await decideWith(stranger.assert(challenge.challenge))).json().code, 'APPROVAL_SIGNATURE_INVALID', 'an unregistered passkey')

  const approved = await signedDecision(h, req.id, lee)
  t.equal(approved.statusCode, 200)
  const view = approved.json()
  t.equal(view.status, 'Approved')
  t.same(view.approval.grant, challenge.grant)
  t.equal(view.approval.proofs.length, 1)
  t.equal(view.approval.proofs[0].kid, lee.id)
  t.equal(view.approval.proofs[0].approver, 'contoso-approver')
  const [record] = await auditOf(h, `requestId=${req.id}&operation=LockboxRequestApproved`)
  t.same(record?.details.approval, view.approval, 'the record alone proves who approved exactly what')

  const token = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })
  t.equal(token.statusCode, 201, 'a proven approval gets its token')
  const claims = JSON.parse(Buffer.from(token.json().accessToken.split('.')[1], 'base64url').toString())
  t.same(claims.approval.href, `/v1/requests/${req.id}`)
  t.type(claims.approval.digest, 'string')

  // A denial needs no signature.
  const denied = await createRequest(h)
  await review(h, denied.id)
  t.equal((await decide(h, denied.id, 'Deny')).status, 'Denied')
})

t.test('refuses to require signed approvals while the settings stored for other reasons hold no passkey', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  // A delegation is the first thing stored in the tenant's settings.
  const until = new Date(h.now() + 24 * 3600_000).toISOString()
  t.equal((await h.as('contoso-approver', { method: 'POST', url: '/v1/tenants/contoso/delegations', payload: { to: 'contoso-user', until } })).statusCode, 201)
  const on = await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true } })
  t.equal(on.statusCode, 409)
  t.match(on.json().detail, /register an approver passkey before requiring signed approvals/)
})

t.test('keeps a signature given when the tenant does not require one', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const lee = await registerPasskey(h, 'contoso-approver')
  const req = await createRequest(h)
  await review(h, req.id)
  const res = await signedDecision(h, req.id, lee)
  t.equal(res.statusCode, 200)
  t.equal(res.json().approval.proofs[0].kid, lee.id)
  const plain = await createRequest(h)
  await review(h, plain.id)
  t.equal((await decide(h, plain.id)).approval, undefined, 'and approves unsigned as before')
})

t.test('with a quorum, keeps the signature of an earlier approver through a later unsigned approval', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const lee = await registerPasskey(h, 'contoso-approver')
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { approvalsRequired: 2 } })).statusCode, 200)
  const req = await createRequest(h)
  await review(h, req.id)
  t.equal((await signedDecision(h, req.id, lee)).json().status, 'AwaitingCustomerApproval')
  const second = await decide(h, req.id, 'Approve', 'contoso-admin')
  t.equal(second.status, 'Approved')
  t.same((second.approval as { proofs: Array<{ approver: string }> }).proofs.map((p) => p.approver), ['contoso-approver'], 'the one signature given stays on the approval')
})

t.test('with a quorum, each approver signs the access they allow and the token needs all their signatures', async (t) => {
  const h = await startTestApp({ config: { mockRequireSignedApprovals: true } })
  t.teardown(h.close)
  const lee = await registerPasskey(h, 'contoso-approver')
  const megan = await registerPasskey(h, 'contoso-admin')
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { requireSignedApprovals: true, approvalsRequired: 2 } })).statusCode, 200)
  const req = await createRequest(h)
  await review(h, req.id)

  const narrowed = (await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/approval-options`, payload: { duration: 'PT1H', accessLevel: 'read' } })).json()
  t.equal(narrowed.grant.duration, 'PT1H', 'the challenge is over the narrowed grant')
  t.equal((await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/approval-options`, payload: { duration: 'PT9H' } })).json().code, 'GRANT_WIDENED')
  const signedNarrow = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve', duration: 'PT1H', webauthn: lee.assert(narrowed.challenge) } })
  t.equal(signedNarrow.statusCode, 200)
  t.equal(signedNarrow.json().status, 'AwaitingCustomerApproval', 'one of two')
  const mismatch = await h.as('contoso-admin', { method: 'POST', url: `/v1/requests/${req.id}/decision`, payload: { decision: 'Approve', duration: 'PT30M', webauthn: megan.assert((await approvalChallenge(h, req.id, 'contoso-admin')).challenge) } })
  t.equal(mismatch.json().code, 'APPROVAL_SIGNATURE_INVALID', 'a signature over other terms than those sent')

  const full = await signedDecision(h, req.id, megan, 'contoso-admin')
  t.equal(full.statusCode, 200)
  const view = full.json()
  t.equal(view.status, 'Approved')
  t.equal(view.approval.grant.duration, 'PT1H', 'the approval names what they allow together')
  t.same(view.approval.proofs.map((p: any) => [p.approver, p.grant.duration]), [['contoso-approver', 'PT1H'], ['contoso-admin', 'PT2H']])
  const token = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })
  t.equal(token.statusCode, 201)
  const read = await h.app.inject({ url: '/exchange/contoso/mailboxes/alice@contoso.com/messages', headers: { authorization: `Bearer ${token.json().accessToken as string}` } })
  t.equal(read.statusCode, 200, 'the content service checks both signatures and the quorum')

  // The same approval with one signature taken away no longer proves anything.
  const stored = await h.app.stores.lockbox.getRequest(req.id)
  await h.app.stores.lockbox.commit({ tenantId: 'contoso', requests: [{ value: { ...stored!, approval: { ...view.approval, proofs: view.approval.proofs.slice(1) } }, expectedVersion: stored!.version }], audit: [] })
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })).json().code, 'APPROVAL_NOT_PROVEN')
})
