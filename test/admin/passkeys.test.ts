// Approver passkeys in a real browser: Chromium's virtual authenticator (CDP WebAuthn domain) stands
// in for the approver's device. A global administrator registers a passkey, requires signed
// approvals, approves a request by signing its grant, approves an extension of its window by
// signing that, and revokes the key; the signatures the admin center sent verify offline against
// the published keys.
import t from 'tap'
import { buildAdminAssets, launchBrowser, openAdmin, screenshot, signInAs } from '../helpers/browser.js'
import { startTestApp } from '../helpers/app.js'
import { freePort } from '../helpers/redis.js'
import { createRequest, review } from '../helpers/workflow.js'
import { verifySignedApproval, type ApproverKeySet, type SignedApproval } from '../../src/domain/approval.js'
import { verifyExtensions } from '../../src/domain/signed-extension.js'

t.test('registers a passkey, approves with it, and revokes it, all in the admin center', async (t) => {
  await buildAdminAssets()
  // WebAuthn refuses an IP address as relying party: the admin center is served as localhost.
  const port = await freePort()
  const base = `http://localhost:${port}`
  const h = await startTestApp({ config: { publicUrl: base, port }, overrides: { now: Date.now, logger: false } })
  t.teardown(h.close)
  await h.app.listen({ host: '127.0.0.1', port })
  const browser = await launchBrowser(t)
  const admin = await openAdmin(t, browser, base)
  const { page } = admin

  const cdp = await admin.context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true }
  })

  await signInAs(page, 'Megan Bowen')
  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByRole('heading', { name: 'Approver passkeys' }).waitFor()
  await page.getByRole('button', { name: 'Register a passkey' }).click()
  await page.getByRole('status').filter({ hasText: 'Passkey registered.' }).waitFor()
  const row = page.locator('table.passkeys tbody tr')
  t.match(await row.textContent(), /Megan Bowen \(contoso-admin\).*ES256.*Active/)
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
  t.equal(credentials.length, 1, 'the key lives in the authenticator')
  const [registered] = (await h.as('contoso-admin', { method: 'GET', url: '/v1/tenants/contoso/passkeys' })).json().items
  t.equal(Buffer.from(credentials[0]!.credentialId, 'base64').toString('base64url'), registered.kid, 'and the gateway holds its public half')

  await page.getByLabel('Require passkey-signed approvals').check()
  await page.getByRole('button', { name: 'Save settings' }).click()
  await page.getByRole('status').filter({ hasText: 'Settings saved' }).waitFor()
  t.equal((await h.as('contoso-user', { method: 'GET', url: '/v1/tenants/contoso' })).json().requireSignedApprovals, true)
  await screenshot(page, 'passkeys-settings')

  const req = await createRequest(h, { justification: 'Signed approval in the browser' })
  await review(h, req.id)
  await page.goto(`/admin/#/requests/${req.id}`)
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  await page.getByRole('button', { name: 'Approve with passkey' }).click()
  await page.getByRole('heading', { name: 'Active access' }).waitFor()
  const approved = (await h.as('contoso-admin', { method: 'GET', url: `/v1/requests/${req.id}` })).json()
  t.equal(approved.status, 'Approved')
  const approval = approved.approval as SignedApproval
  t.same(approval.proofs.map((p) => [p.kid, p.approver]), [[registered.kid, 'contoso-admin']])
  const keys = (await h.app.inject({ url: '/v1/tenants/contoso/approver-keys' })).json() as ApproverKeySet
  t.same(keys.origins, [base])
  t.same(verifySignedApproval(approval, keys, 1), { ok: true }, 'the browser\'s signature verifies offline')
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })).statusCode, 201)

  // An extension of the window is signed the same way: the passkey signs the end it extends and the time added.
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/extend`, payload: { duration: 'PT1H', justification: 'Still looping' } })).statusCode, 200)
  await review(h, req.id)
  await page.reload()
  await page.getByRole('heading', { name: 'Extension asked for' }).waitFor()
  await page.getByLabel('Grant less time (optional, e.g. PT30M)').fill('PT30M')
  await page.getByRole('button', { name: 'Approve extension with passkey' }).click()
  await page.getByRole('status').filter({ hasText: 'You approved the extension.' }).waitFor()
  const extended = (await h.as('contoso-admin', { method: 'GET', url: `/v1/requests/${req.id}` })).json()
  t.equal(extended.extension.grantedDuration, 'PT30M')
  const withExtension = extended.approval as SignedApproval
  t.same(withExtension.extensions?.map((e) => [e.grant.type, e.grant.duration, e.proofs.map((p) => p.kid)]), [['lockbox-extension/v1', 'PT30M', [registered.kid]]])
  t.same(verifyExtensions(withExtension, keys, () => 1), { ok: true }, 'the browser\'s signature of the extension verifies offline')
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${req.id}/token` })).statusCode, 201, 'and the gateway finds the longer window proven')

  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByRole('button', { name: 'Revoke the passkey of Megan Bowen' }).click()
  await page.getByRole('status').filter({ hasText: 'Passkey of Megan Bowen revoked.' }).waitFor()
  t.match(await row.textContent(), /Revoked by contoso-admin/)
  t.same(admin.problems, [], 'no console errors')
})
