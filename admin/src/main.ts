// The admin center's shell: a hash router (#/requests, #/requests/<id>, #/delegations, #/settings), the masthead,
// sign-in and sign-out. Each page renders into <main> and is stopped when the user navigates away.
import { api, detach, isAbort, onSessionEnded } from './api.js'
import { errorBox, h, messageOf } from './dom.js'
import { authConfig, completeSignIn, renew, renewalDelay, signOutEverywhere, startSignIn } from './oidc.js'
import { currentToken, forgetToken } from './session.js'
import type { Me } from './types.js'
import type { ViewContext } from './view.js'
import { renderRequest } from './views/request.js'
import { renderRequests } from './views/requests.js'
import { renderSettings } from './views/settings.js'
import { renderDelegations } from './views/delegations.js'
import { renderSignIn } from './views/sign-in.js'

type Route =
  | { view: 'requests', params: URLSearchParams }
  | { view: 'request', id: string }
  | { view: 'settings' }
  | { view: 'delegations' }
  | { view: 'missing' }

const APP_NAME = 'Lockbox admin center'
const masthead = document.getElementById('masthead') as HTMLElement
const main = document.getElementById('main') as HTMLElement
// Outside <main>: a page re-rendering never takes the renewal prompt away.
const sessionBanner = h('div', { id: 'session-banner', class: 'session-banner', role: 'status' })
masthead.after(sessionBanner)

let me: Me | null = null
let notice: string | null = null
let page = new AbortController()
let firstRender = true

function parseRoute (hash: string): Route {
  const raw = hash.replace(/^#/, '')
  const queryAt = raw.indexOf('?')
  const path = queryAt === -1 ? raw : raw.slice(0, queryAt)
  const params = new URLSearchParams(queryAt === -1 ? '' : raw.slice(queryAt + 1))
  const parts = path.split('/').filter((part) => part !== '')
  if (parts.length === 0 || (parts[0] === 'requests' && parts.length === 1)) return { view: 'requests', params }
  if (parts[0] === 'requests' && parts.length === 2) {
    try {
      return { view: 'request', id: decodeURIComponent(parts[1] as string) }
    } catch {
      return { view: 'missing' }
    }
  }
  if (parts[0] === 'settings' && parts.length === 1) return { view: 'settings' }
  if (parts[0] === 'delegations' && parts.length === 1) return { view: 'delegations' }
  return { view: 'missing' }
}

function skipLink (): HTMLElement {
  // The router owns the hash, so the skip link moves focus itself instead of navigating to #main.
  return h('a', {
    class: 'skip-link',
    href: '#main',
    onclick: (event) => {
      event.preventDefault()
      main.focus()
    }
  }, 'Skip to content')
}

function renderMasthead (route: Route): void {
  if (me === null) {
    masthead.replaceChildren(skipLink(), h('span', { class: 'brand' }, APP_NAME))
    return
  }
  const link = (href: string, text: string, current: boolean): HTMLElement =>
    h('li', {}, h('a', { href, 'aria-current': current ? 'page' : null }, text))
  masthead.replaceChildren(
    skipLink(),
    h('a', { class: 'brand', href: '#/requests' }, APP_NAME),
    h('nav', { 'aria-label': 'Main' }, h('ul', {},
      link('#/requests', 'Requests', route.view === 'requests' || route.view === 'request'),
      me.provider ? null : link('#/delegations', 'Delegations', route.view === 'delegations'),
      me.provider ? null : link('#/settings', 'Settings', route.view === 'settings'))),
    h('div', { class: 'who' },
      h('span', { class: 'who-name' }, me.name),
      h('span', { class: 'who-org' }, `${me.tenantId}${me.roles.length === 0 ? '' : ` · ${me.roles.join(', ')}`}`),
      h('button', { type: 'button', class: 'sign-out', onclick: signOut }, 'Sign out')))
}

function signOut (): void {
  me = null
  clearTimeout(renewTimer)
  sessionBanner.replaceChildren()
  detach(signOutEverywhere().then((leaving) => {
    // Leaving for the provider's sign-out page, which sends the user back here signed out.
    if (leaving) return
    notice = 'You have signed out.'
    if (location.hash === '#/requests') detach(render())
    else location.hash = '#/requests'
  }))
}

let renewTimer: ReturnType<typeof setTimeout> | undefined

/**
 * Before the identity token expires: renew it with the refresh token, or else say when the sign-in
 * ends and offer to sign in again, leaving the page as it is until the user chooses to.
 */
function scheduleRenewal (): void {
  clearTimeout(renewTimer)
  const token = currentToken()
  const delay = token === null ? null : renewalDelay(token)
  if (delay === null) return
  renewTimer = setTimeout(() => {
    detach(renew().then(async (renewed) => {
      if (renewed) {
        sessionBanner.replaceChildren()
        scheduleRenewal()
        return
      }
      const auth = await authConfig()
      if (auth === null || currentToken() === null) return
      sessionBanner.replaceChildren(
        h('span', {}, 'Your sign-in is about to end. '),
        h('button', { type: 'button', onclick: () => { detach(startSignIn(auth, location.hash)) } }, 'Sign in again'))
    }))
  }, delay)
}

onSessionEnded((detail) => {
  me = null
  clearTimeout(renewTimer)
  notice = `Your session has ended (${detail}). Sign in again.`
  detach(render())
})

async function render (): Promise<void> {
  page.abort()
  page = new AbortController()
  const signal = page.signal
  const route = parseRoute(location.hash)
  const focusHeading = !firstRender
  firstRender = false

  if (currentToken() === null) me = null
  if (me === null && currentToken() !== null) {
    try {
      me = await api<Me>('GET', '/v1/me', { signal })
      scheduleRenewal()
    } catch (err) {
      if (isAbort(err) || currentToken() === null) return
      const error = errorBox('shell-error')
      main.replaceChildren(h('h1', {}, APP_NAME), error, h('button', { type: 'button', onclick: () => { detach(render()) } }, 'Try again'))
      error.show(messageOf(err))
      return
    }
  }
  renderMasthead(route)

  if (me === null) {
    const pending = renderSignIn({
      main,
      signal,
      notice,
      onSignedIn: (who) => {
        me = who
        notice = null
        scheduleRenewal()
        detach(render())
      }
    })
    if (focusHeading) main.querySelector('h1')?.focus()
    await pending
    return
  }

  const ctx: ViewContext = {
    main,
    me,
    signal,
    heading: (text) => {
      document.title = `${text} · ${APP_NAME}`
      return h('h1', { tabindex: -1 }, text)
    }
  }
  let pending: Promise<void>
  if (route.view === 'requests') pending = renderRequests(ctx, route.params)
  else if (route.view === 'request') pending = renderRequest(ctx, route.id)
  else if (route.view === 'settings') pending = renderSettings(ctx)
  else if (route.view === 'delegations') pending = renderDelegations(ctx)
  else pending = renderMissing(ctx)
  // Each page puts its heading in place before its first await: moving focus there tells a screen
  // reader user that the page changed.
  if (focusHeading) main.querySelector('h1')?.focus()
  try {
    await pending
  } catch (err) {
    if (!isAbort(err)) main.append(h('p', { class: 'error', role: 'alert' }, messageOf(err)))
  }
}

async function renderMissing (ctx: ViewContext): Promise<void> {
  ctx.main.replaceChildren(ctx.heading('Page not found'),
    h('p', {}, 'There is no such page in the admin center. ', h('a', { href: '#/requests' }, 'Go to the lockbox requests'), '.'))
}

/** A return from the provider's sign-in page is completed before anything renders. */
async function start (): Promise<void> {
  try {
    await completeSignIn()
  } catch (err) {
    forgetToken()
    notice = messageOf(err)
  }
  window.addEventListener('hashchange', () => { detach(render()) })
  await render()
}

detach(start())
