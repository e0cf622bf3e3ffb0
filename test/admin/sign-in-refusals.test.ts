// The admin center's sign-in when things go wrong, in a real browser: a return with another state or
// an identity token with another nonce signs nobody in; a token that cannot be renewed leads to an
// offer to sign in again that leaves the page as it was.
import t from 'tap'
import type { Page } from 'playwright-core'
import { launchBrowser, openAdmin, serveApp } from '../helpers/browser.js'
import { createRequest, review } from '../helpers/workflow.js'

const PROVIDER_BUTTON = 'Sign in with the Lockbox dev provider'
const TOKEN = 'sessionStorage.getItem("lockbox.identityToken")'

/** Rewrites what sign-in remembers in this tab while the user is at the provider (same origin). */
async function tamper (page: Page, field: 'state' | 'nonce'): Promise<void> {
  await page.evaluate(`(() => {
    const pending = JSON.parse(sessionStorage.getItem('lockbox.signIn'))
    pending['${field}'] = 'tampered'
    sessionStorage.setItem('lockbox.signIn', JSON.stringify(pending))
  })()`)
}

/** Waits for the page to hold another identity token (the page's CSP forbids a polled predicate). */
async function tokenOtherThan (page: Page, old: string): Promise<string> {
  for (let i = 0; i < 120; i++) {
    const now = await page.evaluate(TOKEN) as string | null
    if (now !== null && now !== old) return now
    await page.waitForTimeout(250)
  }
  throw new Error('the identity token was never renewed')
}

t.test('a return with another state, or an identity token with another nonce, signs nobody in', async (t) => {
  const { base } = await serveApp(t)
  const browser = await launchBrowser(t)
  for (const [field, says] of [['state', 'its state does not match'], ['nonce', 'nonce mismatch']] as const) {
    // A fresh browser each time: no provider session that would skip its sign-in page.
    const { page } = await openAdmin(t, browser, base)
    await page.getByRole('button', { name: PROVIDER_BUTTON }).click()
    await page.getByRole('heading', { name: 'Sign in to the Lockbox dev provider' }).waitFor()
    await tamper(page, field)
    await page.getByRole('button', { name: /^Lee Gu/ }).click()
    await page.getByRole('status').filter({ hasText: says }).waitFor()
    t.equal(await page.evaluate(TOKEN), null, `${field}: no token kept`)
    t.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0)
  }
})

t.test('when the token cannot be renewed, the page offers to sign in again and comes back to where the user was', async (t) => {
  const { h, base } = await serveApp(t, { devIdTokenTtlMs: 6000 })
  const browser = await launchBrowser(t)
  const pending = await createRequest(h, { justification: 'Calendar permissions' })
  await review(h, pending.id)
  const { page } = await openAdmin(t, browser, base)
  await page.goto(`${base}/admin/#/requests/${pending.id}`)
  await page.getByRole('button', { name: PROVIDER_BUTTON }).click()
  await page.getByRole('button', { name: /^Lee Gu/ }).click()
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  const first = await page.evaluate(TOKEN) as string
  // The provider would refuse this refresh token: renewal fails, and the page says so without leaving.
  await page.evaluate('sessionStorage.setItem("lockbox.refreshToken", "revoked")')
  await page.getByLabel('Comment (optional)').fill('Half-written comment')
  await page.getByRole('button', { name: 'Sign in again' }).waitFor({ timeout: 20_000 })
  t.equal(await page.getByLabel('Comment (optional)').inputValue(), 'Half-written comment', 'the page is left as it was')
  // The provider still knows the user: signing in again is a round trip back to the same request.
  await page.getByRole('button', { name: 'Sign in again' }).click()
  await page.getByRole('heading', { name: 'Your decision' }).waitFor()
  t.equal(page.url(), `${base}/admin/#/requests/${pending.id}`)
  t.not(await tokenOtherThan(page, first), first)
  t.equal(await page.getByRole('button', { name: 'Sign in again' }).count(), 0, 'the prompt is gone')
})
