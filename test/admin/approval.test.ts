// The admin center end to end in a real browser: a contoso approver approves a pending request,
// watches the engineer's proxied read arrive live, revokes; a fabrikam admin sees none of it.
import t from 'tap'
import { launchBrowser, openAdmin, screenshot, serveApp, signInAs } from '../helpers/browser.js'
import { createRequest, review } from '../helpers/workflow.js'

const MESSAGES = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

t.test('a contoso approver approves, watches the engineer read live, and revokes; fabrikam sees none of it', async (t) => {
  const { h, base, logs } = await serveApp(t)
  const browser = await launchBrowser(t)
  const pending = await createRequest(h, { justification: 'Mailbox rule loop on alice@contoso.com' })
  await review(h, pending.id)
  const theirs = await createRequest(h, { tenantId: 'fabrikam', scope: '/mailboxes/isaiah@fabrikam.com', justification: 'Calendar sync' })
  await review(h, theirs.id)

  const admin = await openAdmin(t, browser, base)
  const { page } = admin
  await page.getByRole('heading', { name: 'Sign in to the Lockbox admin center' }).waitFor()
  await page.getByRole('heading', { name: 'Development users' }).waitFor()
  await screenshot(page, 'sign-in')
  await signInAs(page, 'Lee Gu')

  // The list: the pending request, with the time left to decide.
  const row = page.getByRole('row').filter({ hasText: 'Mailbox rule loop on alice@contoso.com' })
  await row.waitFor()
  t.match(await row.textContent(), /Awaiting customer approval/)
  t.match(await row.locator('.time-left').textContent(), /^11 h 5\d min left to decide$/)
  t.equal(await page.getByRole('row').filter({ hasText: 'Calendar sync' }).count(), 0, 'no fabrikam request in contoso\'s list')
  await page.getByLabel('Status').selectOption('Approved')
  await page.getByRole('button', { name: 'Apply filter' }).click()
  await page.getByText('No lockbox requests match.').waitFor()
  await page.getByLabel('Status').selectOption('AwaitingCustomerApproval')
  await page.getByRole('button', { name: 'Apply filter' }).click()
  await row.waitFor()
  t.match(page.url(), /#\/requests\?status=AwaitingCustomerApproval$/, 'the filter is in the address, for the back button')
  await screenshot(page, 'requests')

  // The request: details, then Approve with a comment.
  await row.getByRole('link', { name: 'Mailbox rule loop on alice@contoso.com' }).click()
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  t.match(await page.locator('.details').textContent(), /\/mailboxes\/alice@contoso\.com/)
  await page.getByLabel('Comment (optional)').fill('OK for this service request')
  await page.getByRole('button', { name: 'Approve' }).click()
  await page.getByRole('heading', { name: 'Active access' }).waitFor()
  t.match(await page.locator('#request-status').textContent(), /Approved\s+access ends in 1 h 5\d min/)
  t.match(await page.getByRole('status').filter({ hasText: 'You approved this request' }).textContent(), /Access is open until/)
  t.match(await page.locator('table.history tr', { hasText: 'OK for this service request' }).textContent(), /Approved.*contoso-approver/)

  // The engineer reads through the gateway; the read shows up in the live view as it happens.
  await page.locator('#live-state[data-state="live"]').waitFor()
  const issued = await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${pending.id}/token` })
  t.equal(issued.statusCode, 201)
  const { accessToken } = issued.json() as { accessToken: string }
  const read = await fetch(`${base}${MESSAGES}`, { headers: { authorization: `Bearer ${accessToken}` } })
  t.equal(read.status, 200)
  await read.arrayBuffer()
  const accessed = page.locator('table.activity tr[data-operation="ContentAccessed"]')
  await accessed.waitFor()
  t.match(await accessed.textContent(), /eng-ada.*GET \/contoso\/mailboxes\/alice@contoso\.com\/messages/)
  await page.locator('table.activity tr[data-operation="ContentAccessCompleted"]').waitFor()
  t.match(await page.locator('table.activity tr[data-operation="ContentAccessCompleted"]').textContent(), /status 200/)
  await page.mouse.move(0, 0)
  // The README's picture (docs/images/admin-request.png) is a copy of this one.
  await screenshot(page, 'request')

  // Revoke: the engineer's next call is refused, and that refusal is on the live view too.
  await page.getByLabel('Reason (optional)').fill('Done, thank you')
  await page.getByRole('button', { name: 'Revoke access' }).click()
  await page.locator('#request-status .badge', { hasText: 'Revoked' }).waitFor()
  t.equal(await page.getByRole('heading', { name: 'Active access' }).count(), 0, 'no revoke form once revoked')
  await page.locator('table.activity tr[data-operation="LockboxAccessRevoked"]').waitFor()
  const refused = await fetch(`${base}${MESSAGES}`, { headers: { authorization: `Bearer ${accessToken}` } })
  t.equal(refused.status, 403)
  await refused.arrayBuffer()
  await page.locator('table.activity tr[data-operation="ContentAccessDenied"]').waitFor()
  await screenshot(page, 'request-revoked')

  // The token stayed in sessionStorage and Authorization headers: never in a URL, never in a log.
  const token = await page.evaluate('sessionStorage.getItem("lockbox.identityToken")') as string
  t.type(token, 'string')
  t.ok(admin.authorizations.includes(`Bearer ${token}`))
  t.same(admin.urls.filter((url) => url.includes(token)), [])
  t.same(logs.filter((line) => line.includes(token)), [])
  t.ok(logs.length > 0, 'the app did log (its access lines)')

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You have signed out.').waitFor()
  t.equal(await page.evaluate('sessionStorage.length'), 0, 'signing out forgets the token')

  // Fabrikam's global admin: its own request only, and the contoso one is not even there to open.
  await signInAs(page, 'Diego Siciliani')
  await page.getByRole('row').filter({ hasText: 'Calendar sync' }).waitFor()
  t.equal(await page.getByRole('row').filter({ hasText: 'Mailbox rule loop' }).count(), 0)
  await page.goto(`/admin/#/requests/${pending.id}`)
  await page.getByRole('alert').filter({ hasText: 'is visible to you' }).waitFor()
  t.equal(await page.locator('table.activity').count(), 0, 'no activity of a request fabrikam cannot see')
  t.equal(await page.getByText('Mailbox rule loop').count(), 0)

  t.same(admin.problems, [], 'no console error and no CSP violation')
})
