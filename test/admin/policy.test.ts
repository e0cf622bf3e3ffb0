// The admin center's approval policy in a real browser: a quorum of two ("1 of 2 approvals"), an
// approver granting less than was asked, the extension's decision, and the Delegations page.
import t from 'tap'
import { launchBrowser, openAdmin, screenshot, serveApp, signInAs } from '../helpers/browser.js'
import { createRequest, review } from '../helpers/workflow.js'

t.test('two approvers, one narrowing the grant; an extension decided; a delegation made and ended', async (t) => {
  const { h, base } = await serveApp(t)
  const browser = await launchBrowser(t)
  t.equal((await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { approvalsRequired: 2 } })).statusCode, 200)
  const pending = await createRequest(h, { justification: 'Quorum case', scope: '/mailboxes', accessLevel: 'readwrite' })
  await review(h, pending.id)

  const admin = await openAdmin(t, browser, base)
  const { page } = admin
  await signInAs(page, 'Lee Gu')
  await page.goto(`/admin/#/requests/${pending.id}`)
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  t.match(await page.locator('#request-status').textContent(), /0 of 2 approvals/)
  t.match(await page.locator('.quorum-note').textContent(), /needs 2 different approvers; your approval is one of them/)
  await page.getByText('Grant less than requested').click()
  await page.getByLabel('Shorter duration (ISO 8601, e.g. PT1H)').fill('PT1H')
  await page.getByLabel('Narrower scope (a sub-path of the requested one)').fill('/mailboxes/alice@contoso.com')
  await page.getByLabel('Read only').check()
  await page.getByRole('button', { name: 'Approve' }).click()
  await page.getByRole('status').filter({ hasText: '1 of 2 approvals so far' }).waitFor()
  t.match(await page.locator('#request-status').textContent(), /Awaiting customer approval.*1 of 2 approvals/)
  await page.getByText('You have approved. It needs 1 more approval').waitFor()
  t.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'no second approval by the same person')
  await screenshot(page, 'request-quorum')

  // A widening is refused with the gateway's own words.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await signInAs(page, 'Megan Bowen')
  await page.goto(`/admin/#/requests/${pending.id}`)
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  await page.getByText('Grant less than requested').click()
  await page.getByLabel('Shorter duration (ISO 8601, e.g. PT1H)').fill('PT3H')
  await page.getByRole('button', { name: 'Approve' }).click()
  await page.getByRole('alert').filter({ hasText: 'longer than' }).waitFor()
  await page.getByLabel('Shorter duration (ISO 8601, e.g. PT1H)').fill('')
  await page.getByRole('button', { name: 'Approve' }).click()
  await page.getByRole('heading', { name: 'Active access' }).waitFor()
  t.match(await page.locator('.details').textContent(), /Granted\s*read only on \/mailboxes\/alice@contoso\.com for 1 h/)
  t.match(await page.locator('.details').textContent(), /Approved by\s*contoso-approver, contoso-admin/)

  // The engineer asks for more time; the manager agrees; the customer approves it here.
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${pending.id}/extend`, payload: { duration: 'PT30M', justification: 'one more rule' } })).statusCode, 200)
  await review(h, pending.id)
  await page.reload()
  await page.getByRole('heading', { name: 'Extension asked for' }).waitFor()
  t.match(await page.locator('.decision').textContent(), /30 min more: .*one more rule/)
  await page.getByRole('button', { name: 'Approve extension' }).click()
  await page.getByRole('status').filter({ hasText: 'You approved the extension' }).waitFor()
  await page.locator('.details', { hasText: 'AwaitingCustomerApproval, 1 of 2 approvals' }).waitFor()
  t.equal(await page.getByRole('button', { name: 'Approve extension' }).count(), 0, 'the extension waits for another approver')

  // Delegations: the admin hands their approving to Alex, sees it listed, and ends it.
  await page.getByRole('link', { name: 'Delegations' }).click()
  await page.getByRole('heading', { name: 'Delegate your approving' }).waitFor()
  await page.getByText('No delegations.').waitFor()
  await page.getByLabel('To (their user id)').fill('contoso-user')
  // The browser runs in UTC (openAdmin), so a datetime-local value is a UTC time; a week ahead.
  await page.getByLabel('Until').fill(new Date(Date.now() + 7 * 24 * 3600_000).toISOString().slice(0, 16))
  await page.getByRole('button', { name: 'Delegate' }).click()
  await page.getByRole('status').filter({ hasText: 'contoso-user now decides for contoso-admin' }).waitFor()
  const row = page.locator('table.delegations tbody tr')
  t.match(await row.textContent(), /contoso-admin.*contoso-user.*Active/)
  await screenshot(page, 'delegations')
  t.equal((await h.as('contoso-admin', { method: 'POST', url: '/v1/tenants/contoso/delegations', payload: { to: 'contoso-admin', until: new Date(Date.now() + 3600_000).toISOString() } })).json().code, 'DELEGATION_SELF')
  await page.getByRole('button', { name: 'End the delegation from contoso-admin to contoso-user' }).click()
  await page.getByRole('status').filter({ hasText: 'has ended' }).waitFor()
  await page.getByText('No delegations.').waitFor()

  // Settings: the quorum is shown and kept.
  await page.getByRole('link', { name: 'Settings' }).click()
  t.equal(await page.getByLabel('Approvals required').inputValue(), '2')
  t.same(admin.problems, [], 'no console error and no CSP violation')
})
