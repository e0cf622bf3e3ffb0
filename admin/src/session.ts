// The signed-in caller's identity token. It lives in sessionStorage only: one browser tab, gone when
// the tab closes or the user signs out; never in a URL, never in a log.
const KEY = 'lockbox.identityToken'

export function currentToken (): string | null {
  return sessionStorage.getItem(KEY)
}

export function keepToken (token: string): void {
  sessionStorage.setItem(KEY, token)
}

export function forgetToken (): void {
  sessionStorage.removeItem(KEY)
}
