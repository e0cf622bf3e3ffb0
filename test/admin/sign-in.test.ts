// Signing in to the admin center through the identity provider's own pages, in a real browser: the
// approver follows the e-mailed link, signs in at the (dev) provider, lands on that request, stays
// signed in across a token renewal, approves, and signs out of the provider too; the answer replayed
// signs nobody in.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import t from 'tap'
import type { Page } from 'playwright-core'
import { launchBrowser, openAdmin, screenshot, serveApp } from '../helpers/browser.js'
import { createRequest, review } from '../helpers/workflow.js'

const PROVIDER_BUTTON = 'Sign in with the Lockbox dev provider'
const TOKEN = 'sessionStorage.getItem("lockbox.identityToken")'

/** Waits for the page to hold another identity token (the page's CSP forbids a polled predicate). */
async function tokenOtherThan (page: Page, old: string): Promise<string> {
  for (let i = 0; i < 120; i++) {
    const now = await page.evaluate(TOKEN) as string | null
    if (now !== null && now !== old) return now
    await page.waitForTimeout(250)
  }
  throw new Error('the identity token was never renewed')
}

t.test('an approver follows the e-mailed link, signs in at the provider, survives a renewal, approves, and signs out', async (t) => {
  // Identity tokens live six seconds: the page must renew them to stay signed in.
  const { h, base, logs } = await serveApp(t, { devIdTokenTtlMs: 6000 })
  const browser = await launchBrowser(t)
  const pending = await createRequest(h, { justification: 'Mailbox rule loop on alice@contoso.com' })
  await review(h, pending.id)
  await h.app.notifier.deliverDue()
  const outbox = join(h.dataDir, 'outbox')
  const mail = await simpleParser(readFileSync(join(outbox, readdirSync(outbox)[0] as string)))
  const link = new URL((/(http\S+\/admin\/#\/requests\/\S+)/.exec(mail.text ?? '') as string[])[1] as string)
  t.equal(link.hash, `#/requests/${pending.id}`)

  const admin = await openAdmin(t, browser, base)
  const { page } = admin
  const callbacks: string[] = []
  page.on('request', (request) => { if (request.url().includes('/admin/?')) callbacks.push(request.url()) })
  // The link's own page (the e-mail names the configured public URL; the test's gateway listens elsewhere).
  await page.goto(`${base}${link.pathname}${link.hash}`)
  await page.getByRole('button', { name: PROVIDER_BUTTON }).click()
  await page.getByRole('heading', { name: 'Sign in to the Lockbox dev provider' }).waitFor()
  t.match(page.url(), `${base}/dev/oidc/interaction/`)
  await screenshot(page, 'provider-sign-in')
  await page.getByRole('button', { name: /^Lee Gu/ }).click()

  // Back on the very request the e-mail linked to, with no code or state left in the address.
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  t.equal(page.url(), `${base}/admin/#/requests/${pending.id}`)
  t.match(callbacks[0], /\/admin\/\?code=[^&]+&state=[^&]+&iss=/)
  const first = await page.evaluate(TOKEN) as string
  t.ok(await page.evaluate('sessionStorage.getItem("lockbox.refreshToken")'), 'a refresh token, in this tab only')

  // The token renews itself before it expires, and the page goes on working with the new one.
  const renewed = await tokenOtherThan(page, first)
  await page.getByLabel('Comment (optional)').fill('OK for this service request')
  await page.getByRole('button', { name: 'Approve' }).click()
  await page.getByRole('heading', { name: 'Active access' }).waitFor()
  t.equal(admin.authorizations.at(-1), `Bearer ${renewed}`, 'the decision went with the renewed token')
  t.equal(await page.getByRole('button', { name: 'Sign in again' }).count(), 0, 'never asked to sign in again')

  // Sign-out ends the provider's session too: the next sign-in asks who you are again.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { name: 'Sign out of the dev provider?' }).waitFor()
  await page.getByRole('button', { name: 'Sign out', exact: true }).click()
  await page.getByRole('button', { name: PROVIDER_BUTTON }).waitFor()
  t.equal(await page.evaluate('sessionStorage.length'), 0, 'nothing kept')
  await page.getByRole('button', { name: PROVIDER_BUTTON }).click()
  await page.getByRole('heading', { name: 'Sign in to the Lockbox dev provider' }).waitFor()

  // The answer already used is refused if it comes again: this tab started no sign-in for it.
  await page.goto(callbacks[0] as string)
  await page.getByRole('status').filter({ hasText: 'This sign-in was not started in this tab' }).waitFor()
  t.equal(await page.evaluate(TOKEN), null)
  t.equal(page.url(), `${base}/admin/`, 'the replayed code left the address bar')

  t.notOk(logs.some((line) => line.includes(renewed) || line.includes(first)), 'no token in any log line')
  t.same(admin.problems, [])
})
