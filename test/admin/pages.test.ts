// The admin center's other paths in a real browser: e-mail links, denial, errors in the gateway's own
// words, token sign-in, tenant settings, other roles, an ended session, and the keyboard alone.
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { launchBrowser, openAdmin, screenshot, serveApp, signInAs, type AdminPage } from '../helpers/browser.js'
import { createRequest, review } from '../helpers/workflow.js'
import type { AuditDraft } from '../../src/domain/audit.js'

const { h, base } = await serveApp(t)
const browser = await launchBrowser(t)
const pages: AdminPage[] = []

async function fresh (tt: Test): Promise<Page> {
  const admin = await openAdmin(tt, browser, base)
  pages.push(admin)
  await admin.page.getByRole('heading', { name: 'Development users' }).waitFor()
  return admin.page
}

async function pendingRequest (justification: string): Promise<string> {
  const req = await createRequest(h, { justification })
  await review(h, req.id)
  return req.id
}

// Every control visible on the page with no accessible name: a label, aria-label(ledby), or text.
const UNLABELLED = `[...document.querySelectorAll('input, select, textarea, button, a[href]')]
  .filter((el) => el.closest('[hidden]') === null)
  .filter((el) => el.matches('button, a')
    ? el.textContent.trim() === '' && !el.hasAttribute('aria-label')
    : el.labels.length === 0 && !el.hasAttribute('aria-label') && !el.hasAttribute('aria-labelledby'))
  .map((el) => el.outerHTML)`

const FOCUSED = `(() => {
  const el = document.activeElement
  const style = getComputedStyle(el)
  return { tag: el.tagName, id: el.id, text: el.textContent.trim().replace(/\\s+/g, ' '), outline: style.outlineStyle, width: parseFloat(style.outlineWidth) }
})()`

interface Focused { tag: string, id: string, text: string, outline: string, width: number }

async function focused (page: Page): Promise<Focused> {
  return await page.evaluate(FOCUSED) as Focused
}

/** Tabs forward until the focused element's text starts with `text` (at most `limit` presses). */
async function tabTo (page: Page, text: string, limit = 30): Promise<Focused> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab')
    const now = await focused(page)
    if (now.text.startsWith(text)) return now
  }
  throw new Error(`no focusable element "${text}" within ${limit} tabs`)
}

t.test('opens the request an e-mail links to once the approver signs in, and records a denial with its comment', async (t) => {
  const id = await pendingRequest('Shared mailbox permissions')
  const page = await fresh(t)
  await page.goto(`/admin/#/requests/${id}`)
  await signInAs(page, 'Lee Gu')
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  t.match(await page.locator('.lead').textContent(), 'Shared mailbox permissions')
  await page.getByLabel('Comment (optional)').fill('Not during the audit freeze')
  await page.getByRole('button', { name: 'Deny' }).click()
  await page.locator('#request-status .badge', { hasText: 'Denied' }).waitFor()
  t.match(await page.getByRole('status').filter({ hasText: 'You denied this request' }).textContent(), 'No access was granted')
  t.equal(await page.getByRole('heading', { name: 'Your decision' }).count(), 0, 'a decided request offers no decision')
  t.match(await page.locator('table.history tr', { hasText: 'Not during the audit freeze' }).textContent(), /Denied.*contoso-approver/)
  const stored = (await h.as('contoso-approver', { url: `/v1/requests/${id}` })).json()
  t.equal(stored.status, 'Denied')
})

t.test('shows the gateway\'s own words when a stale page decides too late, and where the request is now', async (t) => {
  const id = await pendingRequest('Too late to approve')
  const admin = await openAdmin(t, browser, base)
  const { page } = admin
  // With the live stream cut, nothing tells the page that someone else decided meanwhile.
  await page.route('**/v1/audit/stream?**', async (route) => { await route.abort() })
  await signInAs(page, 'Lee Gu')
  await page.goto(`/admin/#/requests/${id}`)
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  await page.locator('#live-state[data-state="reconnecting"]').waitFor()
  t.equal((await h.as('contoso-admin', { method: 'POST', url: `/v1/requests/${id}/decision`, payload: { decision: 'Deny' } })).statusCode, 200)
  const expected = (await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${id}/decision`, payload: { decision: 'Approve' } })).json()
  t.equal(expected.status, 409)

  await page.getByRole('button', { name: 'Approve' }).click()
  const alert = page.getByRole('alert').filter({ hasText: expected.detail })
  await alert.waitFor()
  t.match(await alert.textContent(), /^Error: /)
  await page.locator('#request-status .badge', { hasText: 'Denied' }).waitFor()
  t.equal(await page.getByRole('heading', { name: 'Your decision' }).count(), 0)
  t.same(admin.problems.filter((p) => !p.includes('net::ERR_FAILED')), [], 'only the cut stream complained')
})

t.test('signs in with a pasted identity token, and says why a bad one is refused', async (t) => {
  const page = await fresh(t)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.getByRole('alert').filter({ hasText: 'Paste an identity token first.' }).waitFor()
  await page.getByLabel('Identity token (JWT)').fill('not-a-token')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.getByRole('alert').filter({ hasText: 'The gateway did not accept this token' }).waitFor()
  t.equal(await page.evaluate('sessionStorage.length'), 0, 'a refused token is not kept')

  await page.getByLabel('Identity token (JWT)').fill(await h.token('contoso-approver'))
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.getByRole('heading', { name: 'Lockbox requests' }).waitFor()
  t.match(await page.locator('.who').textContent(), /Lee Gu.*contoso · CustomerLockboxApprover/)
})

t.test('asks to sign in again when the gateway stops accepting the token', async (t) => {
  const page = await fresh(t)
  await signInAs(page, 'Lee Gu')
  await page.evaluate('sessionStorage.setItem("lockbox.identityToken", "expired.or.forged")')
  await page.reload()
  await page.getByRole('status').filter({ hasText: 'Your session has ended' }).waitFor()
  await page.getByRole('heading', { name: 'Sign in to the Lockbox admin center' }).waitFor()
  t.equal(await page.evaluate('sessionStorage.length'), 0)
})

t.test('lets a global admin switch lockbox off and change approver addresses; an approver only reads them', async (t) => {
  t.teardown(async () => {
    await h.as('contoso-admin', { method: 'PATCH', url: '/v1/tenants/contoso', payload: { lockboxEnabled: true } })
  })
  const page = await fresh(t)
  await signInAs(page, 'Megan Bowen')
  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByRole('heading', { name: 'Tenant settings' }).waitFor()
  const enabled = page.getByLabel('Customer Lockbox is on')
  const emails = page.getByLabel('Approver e-mail addresses')
  t.equal(await enabled.isChecked(), true)
  t.equal(await emails.inputValue(), 'lockbox-approvers@contoso.com\nmegan@contoso.com')
  t.same(await page.evaluate(UNLABELLED), [])

  await enabled.uncheck()
  await emails.fill('security@contoso.com\nnot-an-address')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await page.getByRole('alert').filter({ hasText: '"not-an-address" is not an e-mail address.' }).waitFor()
  await emails.fill('security@contoso.com\n\nlockbox-approvers@contoso.com\nsecurity@contoso.com')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await page.getByRole('status').filter({ hasText: 'Settings saved: Customer Lockbox is off, 2 approver addresses.' }).waitFor()
  t.same((await h.as('contoso-admin', { url: '/v1/tenants/contoso' })).json(), {
    id: 'contoso', displayName: 'Contoso Ltd.', lockboxEnabled: false, approverEmails: ['security@contoso.com', 'lockbox-approvers@contoso.com'], approvalsRequired: 1, requireSignedApprovals: false
  })
  await screenshot(page, 'settings')

  await page.getByRole('button', { name: 'Sign out' }).click()
  await signInAs(page, 'Lee Gu')
  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByText('Only a global administrator of your organisation can change these settings.').waitFor()
  t.equal(await page.getByLabel('Customer Lockbox is on').isDisabled(), true)
  t.equal(await page.getByLabel('Approver e-mail addresses').isDisabled(), true)
  t.equal(await page.getByRole('button', { name: 'Save settings' }).count(), 0)
})

t.test('tells a user without a lockbox role why there is no list', async (t) => {
  const page = await fresh(t)
  await signInAs(page, 'Alex Wilber')
  await page.getByRole('alert').filter({ hasText: 'you may not list lockbox requests' }).waitFor()
  t.equal(await page.locator('table.requests').isHidden(), true)
})

t.test('lets a provider security reader watch a request of any tenant, with nothing to decide', async (t) => {
  const id = await pendingRequest('Security review of a pending request')
  const page = await fresh(t)
  await signInAs(page, 'Erin Security')
  await page.getByLabel('Tenant').fill('contoso')
  await page.getByRole('button', { name: 'Apply filter' }).click()
  await page.getByRole('link', { name: 'Security review of a pending request' }).click()
  await page.locator('#live-state[data-state="live"]').waitFor()
  await page.locator('table.activity tr[data-operation="LockboxRequestManagerApproved"]').waitFor()
  t.equal(await page.getByRole('heading', { name: 'Your decision' }).count(), 0)
  t.equal(await page.getByRole('link', { name: 'Settings' }).count(), 0, 'settings belong to customers')
  t.ok(page.url().endsWith(`#/requests/${id}`))
})

t.test('shows every record of a request, one without a client address or an answer included', async (t) => {
  const id = await pendingRequest('Activity of a request whose engineer was cut off')
  // What a reset connection leaves: no status, and (an earlier version) no clientIp at all.
  const outcome = { tenantId: 'contoso', operation: 'ContentAccessCompleted', result: 'Failure', actor: { id: 'eng-ada', type: 'SupportEngineer' }, requestId: id, workload: 'exchange', object: '/contoso/mailboxes/alice@contoso.com', details: { accessId: 'a-1', bytes: 0, bytesIn: 10, completed: false, cutBy: null, durationMs: 3, method: 'PUT', status: null } }
  await h.app.stores.lockbox.commit({ tenantId: 'contoso', audit: [outcome as unknown as AuditDraft] })
  const page = await fresh(t)
  await signInAs(page, 'Erin Security')
  await page.getByLabel('Tenant').fill('contoso')
  await page.getByRole('button', { name: 'Apply filter' }).click()
  await page.getByRole('link', { name: 'Activity of a request whose engineer was cut off' }).click()
  await page.locator('#live-state[data-state="live"]').waitFor()
  const row = page.locator('table.activity tr[data-operation="ContentAccessCompleted"]')
  await row.waitFor()
  t.match(await row.textContent(), /no answer · 0 bytes · 3 ms/)
  t.equal(await page.locator('table.activity tr[data-operation="LockboxRequestManagerApproved"]').count(), 1, 'the records around it are shown too')
})

t.test('pages through a long list with Load more, keeping the keyboard focus on the list', async (t) => {
  for (let i = 1; i <= 51; i++) await createRequest(h, { tenantId: 'fabrikam', scope: '/mailboxes/isaiah@fabrikam.com', justification: `Fabrikam request ${i}` })
  const page = await fresh(t)
  await signInAs(page, 'Isaiah Langer')
  await page.getByText('50 requests so far.').waitFor()
  t.equal(await page.getByRole('link', { name: 'Fabrikam request 1', exact: true }).count(), 0, 'the oldest is on the next page')
  await page.getByRole('button', { name: 'Load more' }).click()
  await page.getByText('51 requests.').waitFor()
  t.equal(await page.getByRole('button', { name: 'Load more' }).isHidden(), true)
  t.match(await focused(page), { tag: 'A', text: 'Fabrikam request 1' })
})

t.test('can be used from the keyboard alone, with every control labelled and focus always visible', async (t) => {
  const id = await pendingRequest('Keyboard-only decision')
  const page = await fresh(t)
  t.same(await page.evaluate(UNLABELLED), [], 'sign-in page')

  await page.keyboard.press('Tab')
  const skip = await focused(page)
  t.match(skip, { tag: 'A', text: 'Skip to content', outline: 'solid' })
  t.ok(skip.width >= 2, 'a focus ring of at least 2px')
  await page.keyboard.press('Enter')
  t.match(await focused(page), { tag: 'MAIN' })
  await page.keyboard.press('Tab')
  t.match(await focused(page), { tag: 'BUTTON', text: 'Sign in with the Lockbox dev provider' }, 'then straight to signing in with the provider')
  await page.keyboard.press('Tab')
  t.match(await focused(page), { id: 'identity-token' }, 'then the token field')
  const lee = await tabTo(page, 'Lee Gu')
  t.equal(lee.outline, 'solid')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'Lockbox requests' }).waitFor()
  await page.getByRole('link', { name: 'Keyboard-only decision' }).waitFor()
  t.same(await page.evaluate(UNLABELLED), [], 'requests page')

  const link = await tabTo(page, 'Keyboard-only decision')
  t.equal(link.outline, 'solid')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  t.match(await focused(page), { tag: 'H1', text: 'Lockbox request' }, 'a new page puts focus on its heading')
  await page.locator('#live-state[data-state="live"]').waitFor()
  t.same(await page.evaluate(UNLABELLED), [], 'request page')

  t.match(await tabTo(page, ''), { id: 'decision-comment' }, 'the comment comes first after the heading')
  await page.keyboard.type('Approved from the keyboard')
  await page.keyboard.press('Tab')
  t.match(await focused(page), { tag: 'BUTTON', text: 'Approve', outline: 'solid' })
  await page.keyboard.press('Tab')
  t.match(await focused(page), { tag: 'BUTTON', text: 'Deny', outline: 'solid' })
  await page.keyboard.press('Shift+Tab')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'Active access' }).waitFor()
  t.match(await focused(page), { id: 'request-status' }, 'focus moves to the new status')
  t.equal((await h.as('contoso-approver', { url: `/v1/requests/${id}` })).json().status, 'Approved')
  await screenshot(page, 'request-keyboard')
})

t.test('produced no console error and no CSP violation on any page', async (t) => {
  t.same(pages.flatMap((p) => p.problems), [])
})
