// Browser tests of the admin center: Debian's Chromium driven by playwright-core against the whole
// app listening on a real port, with the admin assets built fresh from admin/.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'
import type { Config } from '../../config/schema.js'
import { startTestApp, type TestApp } from './app.js'
import { UNCOVERED } from './compiled.js'

/** Debian's package puts it here; .ci/run installs it when missing. Never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium'
// Without the background-networking flags Chromium keeps dialling Google's hosts, which this
// closed network refuses.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

const repo = new URL('../../', import.meta.url)
export const ARTIFACTS = fileURLToPath(new URL('test-artifacts/admin/', repo))

let built: Promise<void> | null = null
/**
 * `npm run build:admin`, once per test process, unless dist/admin was built from these very sources
 * (as `npm test` has just done): the pages under test are always today's sources. The build script
 * is a tool the tests use, not code under test, so it stays out of coverage like scripts/: whether
 * it builds or finds the assets current depends on what ran before, not on the tests.
 */
export async function buildAdminAssets (): Promise<void> {
  built ??= promisify(execFile)(process.execPath, [fileURLToPath(new URL('admin/build.js', repo)), '--if-changed'], { env: { ...process.env, ...UNCOVERED } }).then(() => {})
  await built
}

/** One browser per test file; Playwright gives each launch a fresh, empty profile. */
export async function launchBrowser (t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  t.teardown(() => browser.close())
  return browser
}

export interface ServedApp {
  h: TestApp
  base: string
  /** Every line the app logged, to prove what never reaches a log. */
  logs: string[]
}

/** The whole app on 127.0.0.1:<free port>, on the real clock (the browser's clock is real too). */
export async function serveApp (t: Test, config: Partial<Config> = {}): Promise<ServedApp> {
  await buildAdminAssets()
  const logs: string[] = []
  const stream = { write: (line: string) => { logs.push(line) } }
  const h = await startTestApp({ config, overrides: { now: Date.now, logger: { level: 'debug', stream } } })
  t.teardown(h.close)
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 })
  return { h, base: address, logs }
}

export interface AdminPage {
  context: BrowserContext
  page: Page
  /** Console errors and CSP violations the page produced. */
  problems: string[]
  /** Every URL the page requested. */
  urls: string[]
  /** The Authorization headers the page sent. */
  authorizations: string[]
}

/** A fresh browser context (its own sessionStorage) with one page, watched for errors. */
export async function openAdmin (t: Test, browser: Browser, base: string): Promise<AdminPage> {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' })
  t.teardown(() => context.close())
  const page = await context.newPage()
  page.setDefaultTimeout(10_000)
  const watched: AdminPage = { context, page, problems: [], urls: [], authorizations: [] }
  page.on('console', (message) => {
    // Chromium reports every 4xx answer to fetch() on the console; the pages show those themselves.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded with a status of 4')) watched.problems.push(message.text())
  })
  page.on('pageerror', (err) => { watched.problems.push(err.message) })
  page.on('request', (request) => {
    watched.urls.push(request.url())
    const authorization = request.headers().authorization
    if (authorization !== undefined) watched.authorizations.push(authorization)
  })
  await page.goto('/admin/')
  return watched
}

export async function signInAs (page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: new RegExp(`^${name}\\b`) }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
}

export async function screenshot (page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true })
  const path = `${ARTIFACTS}${name}.png`
  await page.screenshot({ path, fullPage: true })
  return path
}
