// The signed-in caller's tokens. They live in sessionStorage only: one browser tab, gone when the
// tab closes or the user signs out; never in a URL, never in a log.
const KEY = 'lockbox.identityToken'
const REFRESH_KEY = 'lockbox.refreshToken'

export function currentToken (): string | null {
  return sessionStorage.getItem(KEY)
}

export function keepToken (token: string): void {
  sessionStorage.setItem(KEY, token)
}

export function currentRefreshToken (): string | null {
  return sessionStorage.getItem(REFRESH_KEY)
}

export function keepRefreshToken (token: string | null): void {
  if (token === null) sessionStorage.removeItem(REFRESH_KEY)
  else sessionStorage.setItem(REFRESH_KEY, token)
}

export function forgetToken (): void {
  sessionStorage.removeItem(KEY)
  sessionStorage.removeItem(REFRESH_KEY)
}
