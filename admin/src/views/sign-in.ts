// Sign-in: "Sign in with <provider>" (the authorization-code flow, see oidc.ts); as advanced options,
// paste an identity token or, when the gateway runs its dev provider, pick one of its users directly.
import { api, ApiError, detach, fetchApi, isAbort } from '../api.js'
import { append, errorBox, h, messageOf } from '../dom.js'
import { authConfig, startSignIn } from '../oidc.js'
import { forgetToken, keepToken } from '../session.js'
import type { DevUser, Me } from '../types.js'

export interface SignInOptions {
  main: HTMLElement
  signal: AbortSignal
  /** Why the user is here again (an ended session), shown above the form. */
  notice: string | null
  onSignedIn: (me: Me) => void
}

export async function renderSignIn (options: SignInOptions): Promise<void> {
  const { main, signal, notice, onSignedIn } = options
  document.title = 'Sign in · Lockbox admin center'
  const error = errorBox('sign-in-error')
  const tokenField = h('textarea', { id: 'identity-token', name: 'token', rows: 4, autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'identity-token-hint' })
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in')

  const signIn = async (token: string): Promise<void> => {
    error.clear()
    keepToken(token)
    try {
      onSignedIn(await api<Me>('GET', '/v1/me', { signal, trying: true }))
    } catch (err) {
      forgetToken()
      if (isAbort(err)) return
      error.show(err instanceof ApiError && err.status === 401 ? `The gateway did not accept this token: ${err.message}` : messageOf(err))
      tokenField.focus()
    }
  }

  const form = h('form', {
    class: 'card stack',
    'aria-labelledby': 'token-heading',
    novalidate: true,
    onsubmit: (event) => {
      event.preventDefault()
      const token = tokenField.value.trim()
      if (token === '') {
        error.show('Paste an identity token first.')
        tokenField.focus()
        return
      }
      detach(signIn(token))
    }
  },
  h('h2', { id: 'token-heading' }, 'Or paste an identity token'),
  h('label', { for: 'identity-token' }, 'Identity token (JWT)'),
  tokenField,
  h('p', { id: 'identity-token-hint', class: 'hint' }, 'Issued by your organisation\'s identity provider. It stays in this browser tab only and is cleared when you sign out.'),
  h('div', { class: 'actions' }, submit))

  const devSection = h('section', { class: 'card stack', 'aria-labelledby': 'dev-heading', hidden: true })
  const providerSection = h('section', { class: 'card stack provider-sign-in', 'aria-label': 'Sign in with your identity provider', hidden: true })
  main.replaceChildren()
  append(main,
    h('h1', { tabindex: -1 }, 'Sign in to the Lockbox admin center'),
    notice === null ? null : h('p', { class: 'notice', role: 'status' }, notice),
    error,
    providerSection,
    h('div', { class: 'sign-in' }, form, devSection))

  const auth = await authConfig()
  if (signal.aborted) return
  if (auth !== null) {
    providerSection.append(
      h('button', {
        type: 'button',
        class: 'primary',
        onclick: () => {
          error.clear()
          // Back to this very page afterwards: the request an e-mail linked to.
          startSignIn(auth, location.hash).catch((err: unknown) => { error.show(messageOf(err)) })
        }
      }, `Sign in with ${auth.name}`),
      h('p', { class: 'hint' }, auth.dev
        ? 'The gateway\'s built-in dev provider: it lists the development users to choose from.'
        : 'You will be taken to your organisation\'s sign-in page, and brought back here.'))
    providerSection.hidden = false
  }

  const devUsers = await listDevUsers(signal)
  if (devUsers === null || devUsers.length === 0) return
  devSection.append(
    h('h2', { id: 'dev-heading' }, 'Development users'),
    h('p', { class: 'hint' }, 'This gateway runs its built-in dev issuer: sign in as one of its users.')
  )
  const tenants = [...new Set(devUsers.map((u) => u.tid))]
  for (const tid of tenants) {
    const list = h('ul', { class: 'dev-users', 'aria-label': `Users of ${tid}` })
    for (const user of devUsers.filter((u) => u.tid === tid)) {
      list.append(h('li', {}, h('button', {
        type: 'button',
        class: 'dev-user',
        onclick: () => { detach(signInAsDevUser(user.id)) }
      }, h('span', { class: 'dev-user-name' }, user.name), ' ', h('span', { class: 'dev-user-roles' }, user.roles.length === 0 ? 'no role' : user.roles.join(', ')))))
    }
    devSection.append(h('h3', {}, tid), list)
  }
  devSection.hidden = false

  async function signInAsDevUser (user: string): Promise<void> {
    error.clear()
    try {
      const { token } = await api<{ token: string }>('POST', '/dev/token', { body: { user }, signal, anonymous: true })
      await signIn(token)
    } catch (err) {
      if (!isAbort(err)) error.show(messageOf(err))
    }
  }
}

/** The dev issuer's users, or null when the gateway has none (a real identity provider). */
async function listDevUsers (signal: AbortSignal): Promise<DevUser[] | null> {
  try {
    const res = await fetchApi('GET', '/dev/users', { signal, anonymous: true })
    return res.ok ? await res.json() as DevUser[] : null
  } catch {
    return null
  }
}
